//! The layout of `sigstead up`'s data directory and its port plan, as one
//! typed value: every path and URL of the development stack comes from here.

use std::path::{Path, PathBuf};

/// Ports of the stack's services: seven consecutive ports from a base.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    pub rekor: u16,
    pub fulcio: u16,
    pub ctlog: u16,
    pub oidc: u16,
    pub tuf: u16,
    pub tsa: u16,
    pub explorer: u16,
}

impl Ports {
    /// Rekor, CA, CT log, development OIDC issuer, TUF repository, timestamp
    /// authority, log explorer, from `base` on.
    pub fn from_base(base: u16) -> anyhow::Result<Self> {
        anyhow::ensure!(base <= u16::MAX - 6, "--port-base {base} leaves no room for seven consecutive ports");
        Ok(Self {
            rekor: base,
            fulcio: base + 1,
            ctlog: base + 2,
            oidc: base + 3,
            tuf: base + 4,
            tsa: base + 5,
            explorer: base + 6,
        })
    }
}

/// The development stack on 127.0.0.1: where each service keeps its files
/// and where it listens.
#[derive(Debug, Clone)]
pub struct Stack {
    root: PathBuf,
    pub ports: Ports,
}

fn loopback(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

impl Stack {
    pub fn new(root: &Path, ports: Ports) -> Self {
        Self { root: root.to_path_buf(), ports }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn rekor_dir(&self) -> PathBuf {
        self.root.join("rekor")
    }
    pub fn ca_dir(&self) -> PathBuf {
        self.root.join("fulcio")
    }
    pub fn ct_dir(&self) -> PathBuf {
        self.root.join("ctlog")
    }
    pub fn oidc_dir(&self) -> PathBuf {
        self.root.join("oidc")
    }
    pub fn tuf_dir(&self) -> PathBuf {
        self.root.join("tuf")
    }
    pub fn tsa_dir(&self) -> PathBuf {
        self.root.join("tsa")
    }
    pub fn tsa_chain(&self) -> PathBuf {
        self.tsa_dir().join("tsa-chain.pem")
    }
    pub fn ca_chain(&self) -> PathBuf {
        self.ca_dir().join("ca-chain.pem")
    }
    /// The TUF root clients pin (`cosign initialize --root`, `sigstore trust-instance`).
    pub fn tuf_root_1(&self) -> PathBuf {
        self.tuf_dir().join("repository/1.root.json")
    }
    pub fn trusted_root(&self) -> PathBuf {
        self.root.join(TRUSTED_ROOT)
    }
    pub fn signing_config(&self) -> PathBuf {
        self.root.join(SIGNING_CONFIG)
    }
    pub fn trust_config(&self) -> PathBuf {
        self.root.join("trust_config.json")
    }

    pub fn listen(port: u16) -> String {
        format!("127.0.0.1:{port}")
    }
    pub fn rekor_url(&self) -> String {
        loopback(self.ports.rekor)
    }
    pub fn fulcio_url(&self) -> String {
        loopback(self.ports.fulcio)
    }
    pub fn ct_url(&self) -> String {
        loopback(self.ports.ctlog)
    }
    pub fn oidc_url(&self) -> String {
        sigstead_dev_oidc::issuer_url(self.ports.oidc)
    }
    pub fn tuf_url(&self) -> String {
        loopback(self.ports.tuf)
    }
    /// The full timestamp URL (signing configs carry full TSA URLs).
    pub fn explorer_url(&self) -> String {
        loopback(self.ports.explorer)
    }
    pub fn tsa_url(&self) -> String {
        format!("{}/api/v1/timestamp", loopback(self.ports.tsa))
    }
}

/// TUF target names of the trust documents (as Sigstore's public repository names them).
pub const TRUSTED_ROOT: &str = "trusted_root.json";
pub const SIGNING_CONFIG: &str = "signing_config.v0.2.json";
