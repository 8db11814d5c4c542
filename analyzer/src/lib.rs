//! trunkcheck's analyzer: the wire codec (XDR, ONC RPC, NFSv4.0/4.1/4.2) and,
//! on top of it, the identity model and the RFC rules.
//!
//! The modules follow the pipeline, each one stage with a typed hand-off:
//!
//! ```text
//! capture/   frames from a file or a device, sliced to IP/TCP     Frame, Packet
//! tcp/       TCP reassembly into ordered byte streams            ConnId, StreamSink
//! rpc/       ONC RPC codec; record marking over those streams     RecordSink
//! nfs4/      the NFSv4.0/4.1/4.2 codec (COMPOUND, CB_COMPOUND)
//! exchange   calls matched with their replies                     Message, MessageSink
//! model/     who is who: servers, clients, client IDs, sessions   Model, Event
//! rules/     the RFC rules judging each event                     Rule, Finding
//! pipeline/  runs the stages over a source (file, merged, live)   Pipeline::run
//! ```
#![deny(missing_docs)]

#[macro_use]
pub mod xdr;
pub mod capture;
pub mod exchange;
pub mod model;
pub mod nfs4;
pub mod pipeline;
pub mod rpc;
pub mod rules;
pub mod tcp;
