//! Rebuilds the crate when a migration is added or changed: `sqlx::migrate!` embeds the
//! migration folders at compile time but cannot ask cargo to watch them itself.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
