// The migrations are embedded with include_str! (see store.rs); rebuild when one is added.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
