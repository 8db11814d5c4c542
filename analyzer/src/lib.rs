//! trunkcheck's analyzer: the wire codec (XDR, ONC RPC, NFSv4.0/4.1/4.2) and,
//! on top of it, the identity model and the RFC rules.
#![deny(missing_docs)]

#[macro_use]
pub mod xdr;
pub mod capture;
pub mod exchange;
pub mod flow;
pub mod merge;
pub mod model;
pub mod nfs4;
pub mod packet;
pub mod pipeline;
pub mod rpc;
pub mod rpcstream;
pub mod rules;
pub mod tcp;
