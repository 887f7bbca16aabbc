//! `cargo xtask demo`: runs the product on its embedded default
//! configuration. Until the desk's administration (issue 4) can make the demo
//! directory and its root key, it reports what is built and what is not.

use std::path::Path;

/// A part of the product and whether `demo` can start it yet.
struct Component {
    name: &'static str,
    what: &'static str,
    status: Status,
}

enum Status {
    /// Built; a library, so there is nothing to start.
    Library { path: &'static str },
    /// Being built in this issue; usable on its own, not yet started here.
    InProgress { issue: u32, try_it: &'static str },
    /// Not built yet; planned in this issue.
    Planned { issue: u32 },
}

const COMPONENTS: &[Component] = &[
    Component {
        name: "ozvi-crypto",
        what: "the protocol: codes, key derivation, envelopes, padding, signatures",
        status: Status::Library {
            path: "crates/ozvi-crypto",
        },
    },
    Component {
        name: "relay",
        what: "stores and forwards ciphertext only",
        status: Status::InProgress {
            issue: 3,
            try_it: "cargo run -p ozvi-relay -- --help",
        },
    },
    Component {
        name: "desk",
        what: "the intervention centre staff's application",
        status: Status::Planned { issue: 4 },
    },
    Component {
        name: "web client",
        what: "the page a person opens in her browser",
        status: Status::Planned { issue: 5 },
    },
];

pub fn run(root: &Path) -> anyhow::Result<()> {
    println!("Ozvi demo\n");
    for component in COMPONENTS {
        match component.status {
            Status::Library { path } => println!(
                "  built    {:<11} {} ({})",
                component.name,
                component.what,
                root.join(path).display()
            ),
            Status::InProgress { issue, try_it } => println!(
                "  partial  {:<11} {} (issue {issue}; try `{try_it}`)",
                component.name, component.what
            ),
            Status::Planned { issue } => println!(
                "  not yet  {:<11} {} (issue {issue})",
                component.name, component.what
            ),
        }
    }
    println!(
        "\nThe demo starts the relay with a sample directory once the desk can \
         create and sign one (issue 4).\n`cargo xtask test` runs the crypto crate's \
         tests natively and in WebAssembly and the relay's integration tests."
    );
    Ok(())
}
