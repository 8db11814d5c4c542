//! A keyed stand-in for GSS per-message protection, for tests that need
//! RPCSEC_GSS without a KDC (unit tests, fake peers in integration tests).
//! It protects nothing: the "MIC" is a keyed FNV-1a hash and "wrapping" an
//! XOR. Real contexts come from [`GssContext::establish`].

use super::rpcsec::{databody, integ_data, priv_data, unwrap_call_body, PerMessage};
use super::{GssContext, GssError, InitOutcome};
use analyzer::rpc::{AuthFlavor, OpaqueAuth, RpcGssService};
use analyzer::xdr::Opaque;

/// Keyed test protection: MIC = 8 bytes of FNV-1a over the key and the
/// message; wrap = the message XORed with the key, then its MIC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keyed(pub u8);

fn fail(call: &'static str) -> GssError {
    GssError::Gss {
        call,
        major: 0x0006_0000,
        minor: 0,
        message: "bad token (keyed test protection)".into(),
    }
}

impl Keyed {
    /// The MIC of `m`.
    pub fn mic(&self, m: &[u8]) -> Vec<u8> {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in std::iter::once(self.0).chain(m.iter().copied()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h.to_be_bytes().to_vec()
    }

    /// An RPCSEC_GSS verifier holding the MIC of the XDR of `n` (a reply
    /// verifier of sequence number `n`, or the window verifier).
    pub fn verifier_of(&self, n: u32) -> OpaqueAuth<'static> {
        OpaqueAuth {
            flavor: AuthFlavor::RPCSEC_GSS,
            body: Opaque::from(self.mic(&n.to_be_bytes())),
        }
    }

    /// An established context with this key, the server's `handle` and
    /// `window`, calls with `service` by default.
    pub fn context(
        &self,
        handle: &[u8],
        window: u32,
        service: RpcGssService,
    ) -> Result<GssContext, GssError> {
        GssContext::from_parts(
            Box::new(*self),
            handle.to_vec(),
            window,
            service,
            &self.verifier_of(window),
            InitOutcome {
                round_trips: 1,
                gss_major: 0,
                gss_minor: 0,
            },
        )
    }

    /// What a server holding this key answers to call `seq`: the reply
    /// verifier and `results` protected as `service` says (with `seq` as
    /// the inner sequence number).
    pub fn reply(
        &self,
        seq: u32,
        service: RpcGssService,
        results: &[u8],
    ) -> Result<(OpaqueAuth<'static>, Vec<u8>), GssError> {
        let body = match service {
            RpcGssService::rpc_gss_svc_integrity => {
                let data = databody(seq, results);
                let sum = self.mic(&data);
                integ_data(data, sum)
            }
            RpcGssService::rpc_gss_svc_privacy => {
                priv_data(self.wrap_bytes(&databody(seq, results)))
            }
            _ => results.to_vec(),
        };
        Ok((self.verifier_of(seq), body))
    }

    /// The sequence number and arguments of a call body protected with
    /// `service` (as a server reads it).
    pub fn unseal_call(
        &self,
        service: RpcGssService,
        body: &[u8],
    ) -> Result<(Option<u32>, Vec<u8>), GssError> {
        let mut k = *self;
        unwrap_call_body(&mut k, service, body)
    }

    fn wrap_bytes(&self, m: &[u8]) -> Vec<u8> {
        let mut v: Vec<u8> = m.iter().map(|b| b ^ self.0).collect();
        v.extend(self.mic(m));
        v
    }
}

impl PerMessage for Keyed {
    fn get_mic(&mut self, m: &[u8]) -> Result<Vec<u8>, GssError> {
        Ok(self.mic(m))
    }
    fn verify_mic(&mut self, m: &[u8], mic: &[u8]) -> Result<(), GssError> {
        if self.mic(m) == mic {
            Ok(())
        } else {
            Err(fail("verify_mic"))
        }
    }
    fn wrap(&mut self, m: &[u8]) -> Result<Vec<u8>, GssError> {
        Ok(self.wrap_bytes(m))
    }
    fn unwrap(&mut self, t: &[u8]) -> Result<Vec<u8>, GssError> {
        let split = t.len().checked_sub(8).ok_or_else(|| fail("unwrap"))?;
        let (data, mic) = t.split_at(split);
        let plain: Vec<u8> = data.iter().map(|b| b ^ self.0).collect();
        if self.mic(&plain) == mic {
            Ok(plain)
        } else {
            Err(fail("unwrap"))
        }
    }
}
