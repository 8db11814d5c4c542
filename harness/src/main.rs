//! `trunkcheck`: drives NFSv4 servers through trunking and failover scenarios
//! and analyzes captures of NFSv4 traffic.

fn main() {
    println!("trunkcheck {}", env!("CARGO_PKG_VERSION"));
}
