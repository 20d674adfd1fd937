//! Integration tests of the composition: the pieces `quay serve` wires, against real services
//! (`cargo xtask services up`).

mod chunk_cleanup;
