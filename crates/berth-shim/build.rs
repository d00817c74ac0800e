//! The shim is linked as a plain (non-PIE) executable, as runc and the docker CLI are: a PIE
//! relocates about 24,000 pointers at every start, and each page of them the loader writes is
//! copied, so one container start cost ~120 more page faults and the CPU to apply them.
fn main() {
    println!("cargo:rustc-link-arg-bins=-no-pie");
}
