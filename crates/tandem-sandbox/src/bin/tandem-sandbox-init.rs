//! The sandbox supervisor as a standalone binary, for this crate's tests and benchmarks
//! (Tandem itself runs its own binary with `__sandbox-init`).

fn main() {
    tandem_sandbox::init_main()
}
