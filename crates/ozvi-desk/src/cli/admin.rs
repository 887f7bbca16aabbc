//! `ozvi-desk admin …`: the operator's root key and directory.

use std::path::Path;

use ozvi_crypto::SignedDirectory;
use ozvi_crypto::format::b64;

use super::args::AdminCommand;
use super::prompt::{new_passphrase, passphrase};
use crate::admin::{self, Enrolment};
use crate::export;
use crate::home::Settings;
use crate::relay::{self, RelayClient};
use crate::terminal::escape;
use crate::{DeskError, keystore};

fn read_signed(path: &Path) -> Result<Vec<u8>, DeskError> {
    std::fs::read(path).map_err(|e| DeskError::Io(format!("{}: {e}", path.display())))
}

pub async fn run(command: AdminCommand) -> Result<(), DeskError> {
    match command {
        AdminCommand::RootInit { out } => {
            let passphrase = new_passphrase("OZVI_ROOT_PASSPHRASE")?;
            let public = admin::create_root(&out, &passphrase)?;
            eprintln!(
                "Root key written to {} (encrypted). Keep it offline.",
                out.display()
            );
            eprintln!("Its public key, for the relay (root_key) and every desk:");
            println!("{}", b64::encode(&public.to_bytes()));
            Ok(())
        }
        AdminCommand::Sample { draft, keys } => {
            let passphrase = new_passphrase("OZVI_DESK_PASSPHRASE")?;
            let directory = admin::sample(&keys, &passphrase)?;
            admin::write_draft(&draft, &directory)?;
            println!(
                "Draft {} with {} centres; staff keystores in {}.",
                draft.display(),
                directory.centres.len(),
                keys.display()
            );
            Ok(())
        }
        AdminCommand::StaffAdd {
            draft,
            centre,
            id,
            label,
            request,
        } => {
            let text = std::fs::read(&request)
                .map_err(|e| DeskError::Io(format!("{}: {e}", request.display())))?;
            let enrolment: Enrolment = ozvi_crypto::format::json::from_slice(&text)
                .map_err(|_| DeskError::Invalid("not an enrolment request".into()))?;
            let keys = enrolment.keys()?;
            let mut directory = admin::read_draft(&draft)?;
            admin::add_staff(&mut directory, &centre, &id, &label, keys)?;
            admin::write_draft(&draft, &directory)?;
            println!(
                "Added {id} to {centre}. Fingerprint {} — compare it with hers. Sign and publish \
                 to make it take effect.",
                Enrolment::fingerprint(&keys)
            );
            Ok(())
        }
        AdminCommand::StaffRemove { draft, id } => {
            let mut directory = admin::read_draft(&draft)?;
            admin::remove_staff(&mut directory, &id)?;
            admin::write_draft(&draft, &directory)?;
            println!(
                "Removed {id}. Once the signed directory is published, new messages are no \
                 longer encrypted to her."
            );
            Ok(())
        }
        AdminCommand::Sign { draft, root, out } => {
            let mut directory = admin::read_draft(&draft)?;
            let passphrase = passphrase("OZVI_ROOT_PASSPHRASE", "Root key passphrase: ")?;
            let root = admin::open_root(&root, &passphrase)?;
            let version = directory.version;
            let signed = admin::sign(&mut directory, &root, relay::now())?;
            keystore::write_new(&out, signed.to_json().as_bytes(), true)?;
            admin::write_draft(&draft, &directory)?;
            println!("Signed version {version} to {}.", out.display());
            Ok(())
        }
        AdminCommand::Publish { relay, signed } => {
            let json = read_signed(&signed)?;
            RelayClient::new(&relay)?.publish_directory(json).await?;
            println!("Published.");
            Ok(())
        }
        AdminCommand::Show { signed, root_key } => {
            let settings = Settings {
                relay: String::new(),
                root_key,
            };
            let directory =
                SignedDirectory::verify(&read_signed(&signed)?, &settings.root()?, None)
                    .map_err(DeskError::Directory)?;
            println!(
                "Valid directory, version {}, signed {}, default centre {}.",
                directory.version,
                export::time(directory.issued_at),
                escape(&directory.default_centre)
            );
            for c in &directory.centres {
                println!(
                    "{:<20} {:<28} {}",
                    escape(&c.id),
                    escape(&c.regions.join(" ")),
                    escape(&c.names.cs)
                );
                // What the person's page shows of the centre, for the
                // operator to read once more before publishing.
                if let Some(contact) = &c.contact {
                    println!(
                        "    contact: {}, {}; {}",
                        escape(&contact.phone),
                        escape(&contact.address),
                        escape(&contact.hours.cs)
                    );
                }
                if let Some(answer) = &c.answer_time {
                    println!("    answer time: {}", escape(&answer.cs));
                }
                if let Some(ack) = &c.acknowledgement {
                    println!("    acknowledgement: {}", escape(&ack.cs));
                }
                for s in &c.staff {
                    println!(
                        "    {:<16} {:<20} {}",
                        escape(&s.id),
                        escape(&s.label),
                        Enrolment::fingerprint(&s.keys)
                    );
                }
            }
            Ok(())
        }
    }
}
