//! The outcome of an audit: counts of what was checked and every finding.

use std::collections::BTreeMap;

use serde::Serialize;

/// Lower-case hex, as `sha256sum` and the reports print bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One thing that does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Where: a tree and record, a file and line, a URL.
    pub at: String,
    /// What is wrong, in words.
    pub problem: String,
}

/// What an audit checked and found.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// The audit's name (`store`, `logs`, `web`, `directory`).
    pub audit: String,
    /// How many items of each kind were checked.
    pub checked: BTreeMap<String, u64>,
    /// Every finding; empty when everything holds.
    pub findings: Vec<Finding>,
    /// Facts worth showing that are not findings (versions, sizes).
    pub notes: Vec<String>,
}

impl Report {
    /// An empty report for `audit`.
    pub fn new(audit: &str) -> Self {
        Self {
            audit: audit.to_string(),
            ..Self::default()
        }
    }

    /// Counts one more checked item of `kind`.
    pub fn count(&mut self, kind: &str) {
        *self.checked.entry(kind.to_string()).or_default() += 1;
    }

    /// Records a finding.
    pub fn fail(&mut self, at: impl Into<String>, problem: impl Into<String>) {
        self.findings.push(Finding {
            at: at.into(),
            problem: problem.into(),
        });
    }

    /// Whether everything held.
    pub fn passed(&self) -> bool {
        self.findings.is_empty()
    }

    /// The report for people.
    pub fn to_text(&self) -> String {
        let mut out = format!("ozvi-audit {}\n\nchecked:\n", self.audit);
        for (kind, n) in &self.checked {
            out.push_str(&format!("  {kind:<40} {n:>9}\n"));
        }
        for note in &self.notes {
            out.push_str(&format!("note: {note}\n"));
        }
        if self.passed() {
            out.push_str("\nPASS: every check holds.\n");
        } else {
            out.push_str(&format!("\nFAIL: {} finding(s):\n", self.findings.len()));
            for f in &self.findings {
                out.push_str(&format!("  {}: {}\n", f.at, f.problem));
            }
        }
        out
    }

    /// The report for machines.
    pub fn to_json(&self) -> String {
        let mut value = serde_json::to_value(self).expect("plain data serializes");
        value["passed"] = self.passed().into();
        serde_json::to_string_pretty(&value).expect("plain data serializes")
    }
}
