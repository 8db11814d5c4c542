//! The system's GSS-API (MIT `libgssapi_krb5.so.2`), loaded at run time.
//!
//! The library is opened once with `dlopen` and only the functions the
//! RPCSEC_GSS client needs are looked up, so building trunkcheck needs no
//! Kerberos package; a machine without the library gets
//! [`GssError::LibraryMissing`] from the first call. Every object the
//! library hands out is owned by a wrapper that releases it on drop
//! ([`Name`], [`Cred`], [`SecContext`], and the internal output buffers).
//!
//! Thread safety: names and credentials may be shared between threads
//! (MIT locks its credentials); a security context is `Send` but not
//! `Sync`, because its per-message sequence state is not locked: callers
//! that share one keep it behind a mutex (as [`super::GssContext`] does).

use super::GssError;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::ptr;
use std::sync::OnceLock;

/// The shared object opened at run time.
pub const LIBRARY: &str = "libgssapi_krb5.so.2";

/// `GSS_C_MUTUAL_FLAG`: the server proves its identity too.
pub const MUTUAL_FLAG: u32 = 2;
/// `GSS_C_REPLAY_FLAG`: per-message replay detection.
pub const REPLAY_FLAG: u32 = 4;
/// `GSS_C_SEQUENCE_FLAG`: per-message out-of-sequence detection.
pub const SEQUENCE_FLAG: u32 = 8;
/// `GSS_C_CONF_FLAG`: confidentiality (wrap with encryption) is wanted.
pub const CONF_FLAG: u32 = 16;
/// `GSS_C_INTEG_FLAG`: integrity (MICs) is wanted.
pub const INTEG_FLAG: u32 = 32;

/// `GSS_S_COMPLETE`.
pub const S_COMPLETE: u32 = 0;
/// `GSS_S_CONTINUE_NEEDED` (a supplementary bit).
pub const S_CONTINUE_NEEDED: u32 = 1;

/// True when a major status is an error (a calling or routine error);
/// supplementary bits alone are not errors.
pub fn is_error(major: u32) -> bool {
    major & 0xffff_0000 != 0
}

const GSS_C_GSS_CODE: c_int = 1;
const GSS_C_MECH_CODE: c_int = 2;
const GSS_C_INITIATE: c_int = 1;
const GSS_C_INDEFINITE: u32 = 0xffff_ffff;
const GSS_C_QOP_DEFAULT: u32 = 0;

// Object identifiers, DER-encoded bodies (RFC 2743, RFC 1964).
/// 1.2.840.113554.1.2.2: the Kerberos V5 mechanism.
const OID_KRB5_MECH: &[u8] = b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02";
/// 1.2.840.113554.1.2.1.4: `GSS_C_NT_HOSTBASED_SERVICE` (`service@host`).
const OID_NT_HOSTBASED_SERVICE: &[u8] = b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x01\x04";
/// 1.2.840.113554.1.2.2.1: `GSS_KRB5_NT_PRINCIPAL_NAME` (`a/b@REALM`).
const OID_KRB5_NT_PRINCIPAL_NAME: &[u8] = b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x01";

#[repr(C)]
struct BufferDesc {
    length: usize,
    value: *mut c_void,
}

#[repr(C)]
struct OidDesc {
    length: u32,
    elements: *mut c_void,
}

#[repr(C)]
struct KeyValueElement {
    key: *const c_char,
    value: *const c_char,
}

#[repr(C)]
struct KeyValueSet {
    count: u32,
    elements: *const KeyValueElement,
}

type Raw = *mut c_void;

type ImportName = unsafe extern "C" fn(*mut u32, *mut BufferDesc, *mut OidDesc, *mut Raw) -> u32;
type DisplayName = unsafe extern "C" fn(*mut u32, Raw, *mut BufferDesc, *mut *mut OidDesc) -> u32;
type AcquireCredFrom = unsafe extern "C" fn(
    *mut u32,
    Raw,
    u32,
    *mut c_void,
    c_int,
    *const KeyValueSet,
    *mut Raw,
    *mut c_void,
    *mut u32,
) -> u32;
type InitSecContext = unsafe extern "C" fn(
    *mut u32,
    Raw,
    *mut Raw,
    Raw,
    *mut OidDesc,
    u32,
    u32,
    *mut c_void,
    *mut BufferDesc,
    *mut *mut OidDesc,
    *mut BufferDesc,
    *mut u32,
    *mut u32,
) -> u32;
type GetMic = unsafe extern "C" fn(*mut u32, Raw, u32, *mut BufferDesc, *mut BufferDesc) -> u32;
type VerifyMic =
    unsafe extern "C" fn(*mut u32, Raw, *mut BufferDesc, *mut BufferDesc, *mut u32) -> u32;
type Wrap = unsafe extern "C" fn(
    *mut u32,
    Raw,
    c_int,
    u32,
    *mut BufferDesc,
    *mut c_int,
    *mut BufferDesc,
) -> u32;
type Unwrap = unsafe extern "C" fn(
    *mut u32,
    Raw,
    *mut BufferDesc,
    *mut BufferDesc,
    *mut c_int,
    *mut u32,
) -> u32;
type InquireContext = unsafe extern "C" fn(
    *mut u32,
    Raw,
    *mut Raw,
    *mut Raw,
    *mut u32,
    *mut *mut OidDesc,
    *mut u32,
    *mut c_int,
    *mut c_int,
) -> u32;
type ReleaseBuffer = unsafe extern "C" fn(*mut u32, *mut BufferDesc) -> u32;
type ReleaseObject = unsafe extern "C" fn(*mut u32, *mut Raw) -> u32;
type DeleteSecContext = unsafe extern "C" fn(*mut u32, *mut Raw, *mut BufferDesc) -> u32;
type DisplayStatus =
    unsafe extern "C" fn(*mut u32, u32, c_int, *mut OidDesc, *mut u32, *mut BufferDesc) -> u32;

/// The loaded library: the function pointers this module uses.
pub struct Gssapi {
    import_name: ImportName,
    display_name: DisplayName,
    acquire_cred_from: AcquireCredFrom,
    init_sec_context: InitSecContext,
    get_mic: GetMic,
    verify_mic: VerifyMic,
    wrap: Wrap,
    unwrap: Unwrap,
    release_buffer: ReleaseBuffer,
    release_name: ReleaseObject,
    release_cred: ReleaseObject,
    delete_sec_context: DeleteSecContext,
    display_status: DisplayStatus,
    inquire_context: InquireContext,
}

impl std::fmt::Debug for Gssapi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Gssapi({LIBRARY})")
    }
}

/// The text of `dlerror()`, or a fallback.
fn dl_error() -> String {
    // SAFETY: dlerror returns NULL or a NUL-terminated string valid until
    // the next dl* call on this thread; it is copied at once.
    let p = unsafe { libc::dlerror() };
    if p.is_null() {
        "no detail from dlerror".to_string()
    } else {
        // SAFETY: non-null, NUL-terminated (see above).
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

/// Looks up `name` in `handle` as a function pointer of type `F`.
///
/// # Safety
/// `F` must be the exact C signature of the symbol `name`.
unsafe fn symbol<F: Copy>(handle: *mut c_void, name: &'static str) -> Result<F, GssError> {
    let cname = CString::new(name).map_err(|_| GssError::SymbolMissing {
        symbol: name,
        detail: "name contains NUL".into(),
    })?;
    // SAFETY: handle is a live dlopen handle; cname is NUL-terminated.
    let p = unsafe { libc::dlsym(handle, cname.as_ptr()) };
    if p.is_null() {
        return Err(GssError::SymbolMissing {
            symbol: name,
            detail: dl_error(),
        });
    }
    debug_assert_eq!(std::mem::size_of::<F>(), std::mem::size_of::<*mut c_void>());
    // SAFETY: p is a non-null code address of the symbol, F is a function
    // pointer type of that symbol's signature (caller's contract), and
    // function pointers have the size of data pointers on this platform.
    Ok(unsafe { std::mem::transmute_copy::<*mut c_void, F>(&p) })
}

impl Gssapi {
    /// Opens `library` and resolves every function.
    fn load_from(library: &'static str) -> Result<Gssapi, GssError> {
        let lib = CString::new(library).map_err(|_| GssError::LibraryMissing {
            library,
            detail: "name contains NUL".into(),
        })?;
        // SAFETY: lib is NUL-terminated. The handle is never closed: the
        // function pointers taken from it live as long as the process.
        let handle = unsafe { libc::dlopen(lib.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        if handle.is_null() {
            return Err(GssError::LibraryMissing {
                library,
                detail: dl_error(),
            });
        }
        // SAFETY: each type alias above is the MIT/RFC 2744 signature of
        // the symbol it is looked up for (x86_64 and aarch64 Linux ABI).
        unsafe {
            Ok(Gssapi {
                import_name: symbol(handle, "gss_import_name")?,
                display_name: symbol(handle, "gss_display_name")?,
                acquire_cred_from: symbol(handle, "gss_acquire_cred_from")?,
                init_sec_context: symbol(handle, "gss_init_sec_context")?,
                get_mic: symbol(handle, "gss_get_mic")?,
                verify_mic: symbol(handle, "gss_verify_mic")?,
                wrap: symbol(handle, "gss_wrap")?,
                unwrap: symbol(handle, "gss_unwrap")?,
                release_buffer: symbol(handle, "gss_release_buffer")?,
                release_name: symbol(handle, "gss_release_name")?,
                release_cred: symbol(handle, "gss_release_cred")?,
                delete_sec_context: symbol(handle, "gss_delete_sec_context")?,
                display_status: symbol(handle, "gss_display_status")?,
                inquire_context: symbol(handle, "gss_inquire_context")?,
            })
        }
    }

    /// The process's library, loaded on first use.
    pub fn get() -> Result<&'static Gssapi, GssError> {
        static LIB: OnceLock<Result<Gssapi, GssError>> = OnceLock::new();
        LIB.get_or_init(|| Gssapi::load_from(LIBRARY))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The text of a status pair, as `gss_display_status` gives it.
    pub fn status_text(&self, major: u32, minor: u32) -> String {
        let mut parts = self.status_strings(major, GSS_C_GSS_CODE);
        if minor != 0 {
            parts.extend(self.status_strings(minor, GSS_C_MECH_CODE));
        }
        if parts.is_empty() {
            format!("major 0x{major:08x}, minor {minor}")
        } else {
            parts.join(": ")
        }
    }

    fn status_strings(&self, code: u32, kind: c_int) -> Vec<String> {
        let mut out = Vec::new();
        let mut context: u32 = 0;
        // gss_display_status may need several calls; bound them.
        for _ in 0..8 {
            let mut minor = 0;
            let mut buf = OutBuffer::new(self);
            // SAFETY: every pointer is valid for the call; buf is released
            // by its drop.
            let major = unsafe {
                (self.display_status)(
                    &mut minor,
                    code,
                    kind,
                    ptr::null_mut(),
                    &mut context,
                    buf.as_mut(),
                )
            };
            if is_error(major) {
                break;
            }
            let text = String::from_utf8_lossy(buf.bytes()).trim().to_string();
            if !text.is_empty() {
                out.push(text);
            }
            if context == 0 {
                break;
            }
        }
        out
    }

    /// A [`GssError::Gss`] for `call` with the library's text.
    fn error(&self, call: &'static str, major: u32, minor: u32) -> GssError {
        GssError::Gss {
            call,
            major,
            minor,
            message: self.status_text(major, minor),
        }
    }
}

/// A buffer the library fills; released with `gss_release_buffer`.
struct OutBuffer<'l> {
    lib: &'l Gssapi,
    desc: BufferDesc,
}

impl<'l> OutBuffer<'l> {
    fn new(lib: &'l Gssapi) -> Self {
        OutBuffer {
            lib,
            desc: BufferDesc {
                length: 0,
                value: ptr::null_mut(),
            },
        }
    }

    fn as_mut(&mut self) -> *mut BufferDesc {
        &mut self.desc
    }

    /// The bytes (empty when the library left the buffer empty or null).
    fn bytes(&self) -> &[u8] {
        if self.desc.value.is_null() || self.desc.length == 0 {
            return &[];
        }
        // SAFETY: the library set value to an allocation of length bytes,
        // which lives until gss_release_buffer in drop.
        unsafe { std::slice::from_raw_parts(self.desc.value as *const u8, self.desc.length) }
    }
}

impl Drop for OutBuffer<'_> {
    fn drop(&mut self) {
        if !self.desc.value.is_null() {
            let mut minor = 0;
            // SAFETY: desc was filled by the library (or is empty).
            unsafe { (self.lib.release_buffer)(&mut minor, &mut self.desc) };
        }
    }
}

/// An input buffer pointing at borrowed bytes (the library does not keep
/// or modify it).
fn in_buffer(bytes: &[u8]) -> BufferDesc {
    BufferDesc {
        length: bytes.len(),
        value: bytes.as_ptr() as *mut c_void,
    }
}

/// An OID descriptor for a static DER body.
fn oid(body: &'static [u8]) -> OidDesc {
    OidDesc {
        length: body.len() as u32,
        elements: body.as_ptr() as *mut c_void,
    }
}

/// How a name is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameType {
    /// `service@host` (`GSS_C_NT_HOSTBASED_SERVICE`), e.g. `nfs@srv.example`.
    HostBasedService,
    /// A Kerberos principal (`GSS_KRB5_NT_PRINCIPAL_NAME`), e.g. `alice@REALM`.
    KerberosPrincipal,
}

/// A GSS name (`gss_name_t`), released on drop.
pub struct Name {
    lib: &'static Gssapi,
    raw: Raw,
    text: String,
}

// SAFETY: an MIT name is immutable after import and not tied to a thread.
unsafe impl Send for Name {}
// SAFETY: as above; shared use only reads it.
unsafe impl Sync for Name {}

impl std::fmt::Debug for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Name({:?})", self.text)
    }
}

impl Name {
    /// Imports `text` as a name of type `kind`.
    pub fn import(text: &str, kind: NameType) -> Result<Name, GssError> {
        let lib = Gssapi::get()?;
        let mut buf = in_buffer(text.as_bytes());
        let mut name_type = oid(match kind {
            NameType::HostBasedService => OID_NT_HOSTBASED_SERVICE,
            NameType::KerberosPrincipal => OID_KRB5_NT_PRINCIPAL_NAME,
        });
        let mut raw: Raw = ptr::null_mut();
        let mut minor = 0;
        // SAFETY: buf and name_type point at live memory for the call; raw
        // receives a new name or stays null.
        let major = unsafe { (lib.import_name)(&mut minor, &mut buf, &mut name_type, &mut raw) };
        if is_error(major) || raw.is_null() {
            return Err(GssError::InvalidName {
                name: text.to_string(),
                detail: lib.status_text(major, minor),
            });
        }
        Ok(Name {
            lib,
            raw,
            text: text.to_string(),
        })
    }

    /// A host-based service name, `service@host`.
    pub fn service(service: &str, host: &str) -> Result<Name, GssError> {
        Name::import(&format!("{service}@{host}"), NameType::HostBasedService)
    }

    /// A Kerberos principal name (`primary[/instance][@REALM]`).
    pub fn principal(principal: &str) -> Result<Name, GssError> {
        Name::import(principal, NameType::KerberosPrincipal)
    }

    /// The text it was imported from.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The name as the library displays it (for Kerberos, the principal).
    pub fn display(&self) -> Result<String, GssError> {
        let mut out = OutBuffer::new(self.lib);
        let mut minor = 0;
        // SAFETY: raw is a live name; out is released by its drop; the
        // returned name type is not wanted (null).
        let major =
            unsafe { (self.lib.display_name)(&mut minor, self.raw, out.as_mut(), ptr::null_mut()) };
        if is_error(major) {
            return Err(self.lib.error("gss_display_name", major, minor));
        }
        Ok(String::from_utf8_lossy(out.bytes()).into_owned())
    }
}

impl Drop for Name {
    fn drop(&mut self) {
        let mut minor = 0;
        // SAFETY: raw came from gss_import_name and is released once.
        unsafe { (self.lib.release_name)(&mut minor, &mut self.raw) };
    }
}

/// Where a credential's secrets come from (MIT credential store keys), so
/// that one process can hold credentials of several principals without
/// environment variables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredStore {
    /// `ccache`: the credential cache to read (and fill), e.g. `FILE:/tmp/x`.
    pub ccache: Option<String>,
    /// `client_keytab`: a keytab from which initial tickets are obtained
    /// when the ccache has none.
    pub client_keytab: Option<String>,
}

/// An initiator credential (`gss_cred_id_t`), released on drop.
pub struct Cred {
    lib: &'static Gssapi,
    raw: Raw,
    description: String,
}

// SAFETY: MIT credentials carry their own lock and are not tied to a thread.
unsafe impl Send for Cred {}
// SAFETY: as above.
unsafe impl Sync for Cred {}

impl std::fmt::Debug for Cred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cred({})", self.description)
    }
}

impl Cred {
    /// Acquires a credential to initiate contexts as `name` (the default
    /// principal of the store's ccache when `None`), from `store`
    /// (`gss_acquire_cred_from`).
    pub fn initiator(name: Option<&Name>, store: &CredStore) -> Result<Cred, GssError> {
        let lib = Gssapi::get()?;
        let mut owned = Vec::new();
        for (key, value) in [
            ("ccache", &store.ccache),
            ("client_keytab", &store.client_keytab),
        ] {
            if let Some(v) = value {
                let k = CString::new(key).map_err(|_| GssError::InvalidName {
                    name: key.to_string(),
                    detail: "contains NUL".into(),
                })?;
                let v = CString::new(v.as_str()).map_err(|_| GssError::InvalidName {
                    name: v.clone(),
                    detail: "credential store value contains NUL".into(),
                })?;
                owned.push((k, v));
            }
        }
        let elements: Vec<KeyValueElement> = owned
            .iter()
            .map(|(k, v)| KeyValueElement {
                key: k.as_ptr(),
                value: v.as_ptr(),
            })
            .collect();
        let set = KeyValueSet {
            count: elements.len() as u32,
            elements: if elements.is_empty() {
                ptr::null()
            } else {
                elements.as_ptr()
            },
        };
        let mut raw: Raw = ptr::null_mut();
        let mut minor = 0;
        // SAFETY: the name (or null for the default), the store and the
        // strings it points at live for the call; raw receives a new cred.
        let major = unsafe {
            (lib.acquire_cred_from)(
                &mut minor,
                name.map_or(ptr::null_mut(), |n| n.raw),
                GSS_C_INDEFINITE,
                ptr::null_mut(),
                GSS_C_INITIATE,
                &set,
                &mut raw,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        if is_error(major) || raw.is_null() {
            return Err(lib.error("gss_acquire_cred_from", major, minor));
        }
        Ok(Cred {
            lib,
            raw,
            description: format!(
                "{} from {}",
                name.map_or("default principal", |n| n.text()),
                store
                    .ccache
                    .as_deref()
                    .or(store.client_keytab.as_deref())
                    .unwrap_or("the default ccache")
            ),
        })
    }
}

impl Drop for Cred {
    fn drop(&mut self) {
        let mut minor = 0;
        // SAFETY: raw came from gss_acquire_cred_from and is released once.
        unsafe { (self.lib.release_cred)(&mut minor, &mut self.raw) };
    }
}

/// Where context establishment stands after one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitStep {
    /// Send `token` to the acceptor and feed its answer to the next step.
    Continue {
        /// The token for the acceptor.
        token: Vec<u8>,
    },
    /// The context is established; `token` (possibly empty) still goes to
    /// the acceptor.
    Complete {
        /// The last token for the acceptor (empty when there is none).
        token: Vec<u8>,
    },
}

/// A Kerberos security context (`gss_ctx_id_t`) on the initiator side,
/// deleted on drop.
pub struct SecContext {
    lib: &'static Gssapi,
    raw: Raw,
    established: bool,
    flags: u32,
}

// SAFETY: an MIT context may move between threads; it is not Sync (its
// per-message counters are unlocked), so shared use needs a mutex.
unsafe impl Send for SecContext {}

impl std::fmt::Debug for SecContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SecContext(established: {}, flags: {:#x})",
            self.established, self.flags
        )
    }
}

impl SecContext {
    /// A context not yet started: the first [`SecContext::step`] makes the
    /// first token.
    pub fn new() -> Result<SecContext, GssError> {
        Ok(SecContext {
            lib: Gssapi::get()?,
            raw: ptr::null_mut(),
            established: false,
            flags: 0,
        })
    }

    /// One `gss_init_sec_context` step with the Kerberos mechanism: `input`
    /// is empty on the first step, then the acceptor's last token.
    pub fn step(
        &mut self,
        cred: &Cred,
        target: &Name,
        req_flags: u32,
        input: &[u8],
    ) -> Result<InitStep, GssError> {
        let mut mech = oid(OID_KRB5_MECH);
        let mut input_buf = in_buffer(input);
        let mut out = OutBuffer::new(self.lib);
        let mut ret_flags: u32 = 0;
        let mut minor = 0;
        // SAFETY: every pointer is valid for the call; self.raw is null
        // (new context) or a context this object owns; out is released by
        // its drop; no channel bindings; the actual mech is not wanted.
        let major = unsafe {
            (self.lib.init_sec_context)(
                &mut minor,
                cred.raw,
                &mut self.raw,
                target.raw,
                &mut mech,
                req_flags,
                0,
                ptr::null_mut(),
                if input.is_empty() {
                    ptr::null_mut()
                } else {
                    &mut input_buf
                },
                ptr::null_mut(),
                out.as_mut(),
                &mut ret_flags,
                ptr::null_mut(),
            )
        };
        if is_error(major) {
            return Err(self.lib.error("gss_init_sec_context", major, minor));
        }
        self.flags = ret_flags;
        let token = out.bytes().to_vec();
        if major & S_CONTINUE_NEEDED != 0 {
            Ok(InitStep::Continue { token })
        } else {
            self.established = true;
            Ok(InitStep::Complete { token })
        }
    }

    /// The acceptor's principal as the mechanism authenticated it
    /// (`gss_inquire_context`'s target name, e.g. `nfs/host@REALM`).
    pub fn acceptor_name(&self) -> Result<String, GssError> {
        if self.raw.is_null() {
            return Err(GssError::Protocol {
                detail: "no context to inquire".into(),
            });
        }
        let mut minor = 0;
        let mut target: Raw = ptr::null_mut();
        // SAFETY: raw is a live context; only the target name is asked for
        // (the other outputs are null, which RFC 2744 allows); it is
        // released below.
        let major = unsafe {
            (self.lib.inquire_context)(
                &mut minor,
                self.raw,
                ptr::null_mut(),
                &mut target,
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        if is_error(major) || target.is_null() {
            return Err(self.lib.error("gss_inquire_context", major, minor));
        }
        let name = Name {
            lib: self.lib,
            raw: target,
            text: String::new(),
        };
        name.display()
    }

    /// True once [`SecContext::step`] returned `Complete`.
    pub fn is_established(&self) -> bool {
        self.established
    }

    /// The flags the mechanism granted (`ret_flags`).
    pub fn flags(&self) -> u32 {
        self.flags
    }

    fn require_established(&self, call: &'static str) -> Result<(), GssError> {
        if self.established && !self.raw.is_null() {
            Ok(())
        } else {
            Err(GssError::NotEstablished { call })
        }
    }

    /// `gss_get_mic` with the default QOP.
    pub fn get_mic(&mut self, message: &[u8]) -> Result<Vec<u8>, GssError> {
        self.require_established("gss_get_mic")?;
        let mut msg = in_buffer(message);
        let mut out = OutBuffer::new(self.lib);
        let mut minor = 0;
        // SAFETY: raw is an established context; buffers are valid.
        let major = unsafe {
            (self.lib.get_mic)(
                &mut minor,
                self.raw,
                GSS_C_QOP_DEFAULT,
                &mut msg,
                out.as_mut(),
            )
        };
        if is_error(major) {
            return Err(self.lib.error("gss_get_mic", major, minor));
        }
        Ok(out.bytes().to_vec())
    }

    /// `gss_verify_mic`: `Ok` when `mic` is a valid MIC of `message`.
    pub fn verify_mic(&mut self, message: &[u8], mic: &[u8]) -> Result<(), GssError> {
        self.require_established("gss_verify_mic")?;
        let mut msg = in_buffer(message);
        let mut token = in_buffer(mic);
        let mut qop = 0;
        let mut minor = 0;
        // SAFETY: raw is an established context; buffers are valid.
        let major =
            unsafe { (self.lib.verify_mic)(&mut minor, self.raw, &mut msg, &mut token, &mut qop) };
        if is_error(major) {
            return Err(self.lib.error("gss_verify_mic", major, minor));
        }
        Ok(())
    }

    /// `gss_wrap` with confidentiality; an error if the mechanism could not
    /// encrypt.
    pub fn wrap(&mut self, message: &[u8]) -> Result<Vec<u8>, GssError> {
        self.require_established("gss_wrap")?;
        let mut msg = in_buffer(message);
        let mut out = OutBuffer::new(self.lib);
        let mut conf_state: c_int = 0;
        let mut minor = 0;
        // SAFETY: raw is an established context; buffers are valid.
        let major = unsafe {
            (self.lib.wrap)(
                &mut minor,
                self.raw,
                1,
                GSS_C_QOP_DEFAULT,
                &mut msg,
                &mut conf_state,
                out.as_mut(),
            )
        };
        if is_error(major) {
            return Err(self.lib.error("gss_wrap", major, minor));
        }
        if conf_state == 0 {
            return Err(GssError::NoConfidentiality { call: "gss_wrap" });
        }
        Ok(out.bytes().to_vec())
    }

    /// `gss_unwrap`: the message inside `token`; an error if it was not
    /// encrypted.
    pub fn unwrap(&mut self, token: &[u8]) -> Result<Vec<u8>, GssError> {
        self.require_established("gss_unwrap")?;
        let mut input = in_buffer(token);
        let mut out = OutBuffer::new(self.lib);
        let mut conf_state: c_int = 0;
        let mut qop = 0;
        let mut minor = 0;
        // SAFETY: raw is an established context; buffers are valid.
        let major = unsafe {
            (self.lib.unwrap)(
                &mut minor,
                self.raw,
                &mut input,
                out.as_mut(),
                &mut conf_state,
                &mut qop,
            )
        };
        if is_error(major) {
            return Err(self.lib.error("gss_unwrap", major, minor));
        }
        if conf_state == 0 {
            return Err(GssError::NoConfidentiality { call: "gss_unwrap" });
        }
        Ok(out.bytes().to_vec())
    }
}

impl Drop for SecContext {
    fn drop(&mut self) {
        if self.raw.is_null() {
            return;
        }
        let mut minor = 0;
        // SAFETY: raw is a context this object owns, deleted once; no
        // output token is wanted.
        unsafe { (self.lib.delete_sec_context)(&mut minor, &mut self.raw, ptr::null_mut()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_library_is_a_typed_error_naming_it() {
        let e = Gssapi::load_from("libtrunkcheck-no-such-gssapi.so.9").expect_err("absent");
        match &e {
            GssError::LibraryMissing { library, detail } => {
                assert_eq!(*library, "libtrunkcheck-no-such-gssapi.so.9");
                assert!(detail.contains("libtrunkcheck-no-such-gssapi"), "{detail}");
            }
            other => panic!("not LibraryMissing: {other}"),
        }
        assert!(
            e.to_string().contains("apt-get install libgssapi-krb5-2"),
            "{e}"
        );
    }

    #[test]
    fn status_codes_are_errors_only_in_their_error_bits() {
        assert!(!is_error(S_COMPLETE));
        assert!(!is_error(S_CONTINUE_NEEDED));
        assert!(is_error(0x0007_0000)); // GSS_S_NO_CRED
        assert!(is_error(0x0100_0000)); // a calling error
    }

    #[test]
    fn the_librarys_status_text_names_the_error() {
        let Ok(lib) = Gssapi::get() else {
            return;
        };
        let text = lib.status_text(0x000d_0000, 0); // GSS_S_FAILURE
        assert!(text.to_ascii_lowercase().contains("failure"), "{text}");
    }
}
