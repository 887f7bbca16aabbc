//! `cargo xtask demo`: runs the product on its embedded default
//! configuration. For now only the crypto crate exists, so it reports what
//! is built and what is not.

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
        status: Status::Planned { issue: 3 },
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
            Status::Planned { issue } => println!(
                "  not yet  {:<11} {} (issue {issue})",
                component.name, component.what
            ),
        }
    }
    println!(
        "\nThe relay, the desk and the web client are not built yet, so there is \
         nothing to start.\nWhat exists is the crypto crate: `cargo xtask test` runs \
         its tests natively and in WebAssembly."
    );
    Ok(())
}
