//! Canned data: the `demo` fixture and the `--generate` bulk generator.

use crate::config::GenerateSpec;
use crate::state::State;

/// The demo fixture (extend it from other modules by calling further functions from here).
pub fn demo(state: &mut State) {
    let _ = state;
}

/// Bulk data for benchmarks.
pub fn generate(state: &mut State, spec: &GenerateSpec) {
    let _ = (state, spec);
}
