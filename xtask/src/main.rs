mod vectors;

fn main() -> anyhow::Result<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let n = vectors::generate(&root.join("crates/ozvi-crypto/vectors"))?;
    println!("{n}");
    Ok(())
}
