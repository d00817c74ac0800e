//! The CLI is linked as a plain (non-PIE) executable, as the docker CLI is: a PIE relocates
//! about 17,000 pointers at every start, so each invocation cost ~80 more page faults (a
//! third of `berth version`'s) and the CPU to apply them.
fn main() {
    println!("cargo:rustc-link-arg-bins=-no-pie");
}
