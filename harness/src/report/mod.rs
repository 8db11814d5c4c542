//! Reports: what `decode`, `analyze` and `run` write, as text, JSON, JUnit
//! XML, Graphviz DOT, SVG sequence diagrams and the HTML comparison of
//! runs. Each takes what the analyzer (or the runner) produced and renders
//! it; whether a finding fails something is asked of
//! [`analyzer::rules::Policy`], never decided here.

pub mod analyze_json;
pub mod analyze_text;
pub mod compare;
pub mod decode;
pub mod frames;
pub mod graph;
pub mod junit;
pub mod markup;
pub mod run;
pub mod sequence;
pub mod stats;
