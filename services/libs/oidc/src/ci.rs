//! CI-provider claim mapping: upstream Fulcio's `ci-issuer-metadata`.
//!
//! A provider maps token claims to the certificate's URI SAN and to the
//! Sigstore extension OIDs through small templates (see [`crate::template`]
//! for the accepted syntax). Template data is *the token's claims, then the
//! provider's default values*: a claim of the same name wins over a default,
//! exactly as upstream (`maps.Copy(defaults); maps.Copy(claims)`).
//!
//! The six providers of upstream's public-good `config/identity/config.yaml`
//! are built in under upstream's names; a `[ci_providers.NAME]` table with
//! the same name replaces the built-in one.

use crate::oid;
use crate::profile::ExtensionEncoding;
use crate::template::Template;
use serde::Deserialize;
use std::collections::BTreeMap;

/// One CI provider's claim templates (`[ci_providers.NAME]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CiProviderConfig {
    /// Values a template may use when the token has no claim of that name,
    /// e.g. `url = "https://github.com"`. Claims win over defaults.
    #[serde(default, alias = "default-template-values")]
    pub default_template_values: BTreeMap<String, String>,
    /// Template per Sigstore extension; an absent (or blank) template means
    /// the extension is not emitted. Issuer (1.1/1.8) and token subject (1.24)
    /// are not configurable: they are always the token's `iss` and `sub`.
    #[serde(default, alias = "extension-templates")]
    pub extension_templates: ExtensionTemplates,
    /// Template for the certificate's URI SubjectAlternativeName. Required.
    #[serde(alias = "subject-alternative-name-template")]
    pub subject_alternative_name_template: String,
}

macro_rules! extension_templates {
    ($( $(#[$doc:meta])* $field:ident, $yaml:literal, $oid:path, $enc:ident; )*) => {
        /// Templates for the claim-derived Sigstore extensions. Keys may be
        /// written snake_case (`build_signer_uri`) or as upstream's YAML
        /// spells them (`build-signer-uri`).
        #[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct ExtensionTemplates {
            $(
                $(#[$doc])*
                #[serde(default, alias = $yaml)]
                pub $field: Option<String>,
            )*
        }

        impl ExtensionTemplates {
            /// `(upstream YAML name, OID, encoding, template)` for every field, in OID order.
            pub(crate) fn entries(&self) -> Vec<(&'static str, &'static str, ExtensionEncoding, Option<&str>)> {
                vec![$( ($yaml, $oid, ExtensionEncoding::$enc, self.$field.as_deref()), )*]
            }

            /// Sets a template by its upstream YAML name; `false` if unknown.
            pub(crate) fn set(&mut self, yaml_name: &str, template: &str) -> bool {
                match yaml_name {
                    $( $yaml => { self.$field = Some(template.to_owned()); true } )*
                    _ => false,
                }
            }
        }
    };
}

extension_templates! {
    /// 1.3.6.1.4.1.57264.1.2, raw (deprecated): GitHub workflow trigger.
    github_workflow_trigger, "github-workflow-trigger", oid::GITHUB_WORKFLOW_TRIGGER, Raw;
    /// 1.3.6.1.4.1.57264.1.3, raw (deprecated): GitHub workflow SHA.
    github_workflow_sha, "github-workflow-sha", oid::GITHUB_WORKFLOW_SHA, Raw;
    /// 1.3.6.1.4.1.57264.1.4, raw (deprecated): GitHub workflow name.
    github_workflow_name, "github-workflow-name", oid::GITHUB_WORKFLOW_NAME, Raw;
    /// 1.3.6.1.4.1.57264.1.5, raw (deprecated): GitHub workflow repository.
    github_workflow_repository, "github-workflow-repository", oid::GITHUB_WORKFLOW_REPOSITORY, Raw;
    /// 1.3.6.1.4.1.57264.1.6, raw (deprecated): GitHub workflow ref.
    github_workflow_ref, "github-workflow-ref", oid::GITHUB_WORKFLOW_REF, Raw;
    /// 1.3.6.1.4.1.57264.1.9, UTF8String: Build Signer URI.
    build_signer_uri, "build-signer-uri", oid::BUILD_SIGNER_URI, Utf8String;
    /// 1.3.6.1.4.1.57264.1.10, UTF8String: Build Signer Digest.
    build_signer_digest, "build-signer-digest", oid::BUILD_SIGNER_DIGEST, Utf8String;
    /// 1.3.6.1.4.1.57264.1.11, UTF8String: Runner Environment.
    runner_environment, "runner-environment", oid::RUNNER_ENVIRONMENT, Utf8String;
    /// 1.3.6.1.4.1.57264.1.12, UTF8String: Source Repository URI.
    source_repository_uri, "source-repository-uri", oid::SOURCE_REPOSITORY_URI, Utf8String;
    /// 1.3.6.1.4.1.57264.1.13, UTF8String: Source Repository Digest.
    source_repository_digest, "source-repository-digest", oid::SOURCE_REPOSITORY_DIGEST, Utf8String;
    /// 1.3.6.1.4.1.57264.1.14, UTF8String: Source Repository Ref.
    source_repository_ref, "source-repository-ref", oid::SOURCE_REPOSITORY_REF, Utf8String;
    /// 1.3.6.1.4.1.57264.1.15, UTF8String: Source Repository Identifier.
    source_repository_identifier, "source-repository-identifier", oid::SOURCE_REPOSITORY_IDENTIFIER, Utf8String;
    /// 1.3.6.1.4.1.57264.1.16, UTF8String: Source Repository Owner URI.
    source_repository_owner_uri, "source-repository-owner-uri", oid::SOURCE_REPOSITORY_OWNER_URI, Utf8String;
    /// 1.3.6.1.4.1.57264.1.17, UTF8String: Source Repository Owner Identifier.
    source_repository_owner_identifier, "source-repository-owner-identifier", oid::SOURCE_REPOSITORY_OWNER_IDENTIFIER, Utf8String;
    /// 1.3.6.1.4.1.57264.1.18, UTF8String: Build Config URI.
    build_config_uri, "build-config-uri", oid::BUILD_CONFIG_URI, Utf8String;
    /// 1.3.6.1.4.1.57264.1.19, UTF8String: Build Config Digest.
    build_config_digest, "build-config-digest", oid::BUILD_CONFIG_DIGEST, Utf8String;
    /// 1.3.6.1.4.1.57264.1.20, UTF8String: Build Trigger.
    build_trigger, "build-trigger", oid::BUILD_TRIGGER, Utf8String;
    /// 1.3.6.1.4.1.57264.1.21, UTF8String: Run Invocation URI.
    run_invocation_uri, "run-invocation-uri", oid::RUN_INVOCATION_URI, Utf8String;
    /// 1.3.6.1.4.1.57264.1.22, UTF8String: Source Repository Visibility At Signing.
    source_repository_visibility_at_signing, "source-repository-visibility-at-signing", oid::SOURCE_REPOSITORY_VISIBILITY_AT_SIGNING, Utf8String;
    /// 1.3.6.1.4.1.57264.1.23, UTF8String: Deployment Environment.
    deployment_environment, "deployment-environment", oid::DEPLOYMENT_ENVIRONMENT, Utf8String;
}

/// A compiled extension template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExtensionRule {
    pub(crate) name: &'static str,
    pub(crate) oid: &'static str,
    pub(crate) encoding: ExtensionEncoding,
    pub(crate) template: Template,
}

/// A CI provider with its templates compiled (built from [`CiProviderConfig`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiProvider {
    name: String,
    pub(crate) defaults: BTreeMap<String, String>,
    pub(crate) san: Template,
    pub(crate) extensions: Vec<ExtensionRule>,
}

impl CiProvider {
    /// Compiles `config`; the error names the offending template.
    pub fn compile(name: &str, config: &CiProviderConfig) -> Result<Self, String> {
        if config.subject_alternative_name_template.trim().is_empty() {
            return Err("subject_alternative_name_template must not be empty".into());
        }
        for (k, v) in &config.default_template_values {
            if crate::names::has_forbidden_char(k) || crate::names::has_forbidden_char(v) {
                return Err(format!("default value {k:?} contains a control character"));
            }
        }
        let san = Template::compile(&config.subject_alternative_name_template)
            .map_err(|e| format!("subject_alternative_name_template: {e}"))?;
        let mut extensions = Vec::new();
        for (yaml, oid, encoding, template) in config.extension_templates.entries() {
            let Some(src) = template else { continue };
            if src.trim().is_empty() {
                continue;
            }
            let template = Template::compile(src).map_err(|e| format!("{yaml}: {e}"))?;
            extensions.push(ExtensionRule { name: yaml, oid, encoding, template });
        }
        Ok(CiProvider { name: name.to_owned(), defaults: config.default_template_values.clone(), san, extensions })
    }

    /// The provider's name (the `ci_provider` an issuer refers to).
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Names of the built-in providers (upstream's `ci-issuer-metadata` keys).
pub const BUILTIN_CI_PROVIDERS: [&str; 6] =
    ["github-workflow", "gitlab-pipeline", "buildkite-job", "codefresh-workflow", "circleci-job", "buddy-pipeline"];

fn provider(defaults: &[(&str, &str)], extensions: &[(&str, &str)], san: &str) -> CiProviderConfig {
    let mut templates = ExtensionTemplates::default();
    for (name, template) in extensions {
        let known = templates.set(name, template);
        assert!(known, "unknown extension {name}");
    }
    CiProviderConfig {
        default_template_values: defaults.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        extension_templates: templates,
        subject_alternative_name_template: san.to_owned(),
    }
}

/// A built-in provider's configuration, transcribed from upstream Fulcio's
/// `config/identity/config.yaml` (commit eb10c98e).
pub fn builtin_ci_provider(name: &str) -> Option<CiProviderConfig> {
    Some(match name {
        "github-workflow" => provider(
            &[("url", "https://github.com"), ("environment", "")],
            &[
                ("github-workflow-trigger", "event_name"),
                ("github-workflow-sha", "sha"),
                ("github-workflow-name", "workflow"),
                ("github-workflow-repository", "repository"),
                ("github-workflow-ref", "ref"),
                ("build-signer-uri", "{{ .url }}/{{ .job_workflow_ref }}"),
                ("build-signer-digest", "job_workflow_sha"),
                ("runner-environment", "runner_environment"),
                ("source-repository-uri", "{{ .url }}/{{ .repository }}"),
                ("source-repository-digest", "sha"),
                ("source-repository-ref", "ref"),
                ("source-repository-identifier", "repository_id"),
                ("source-repository-owner-uri", "{{ .url }}/{{ .repository_owner }}"),
                ("source-repository-owner-identifier", "repository_owner_id"),
                ("build-config-uri", "{{ .url }}/{{ .workflow_ref }}"),
                ("build-config-digest", "workflow_sha"),
                ("build-trigger", "event_name"),
                (
                    "run-invocation-uri",
                    "{{ .url }}/{{ .repository }}/actions/runs/{{ .run_id }}/attempts/{{ .run_attempt }}",
                ),
                ("source-repository-visibility-at-signing", "repository_visibility"),
                ("deployment-environment", "environment"),
            ],
            "{{ .url }}/{{ .job_workflow_ref }}",
        ),
        "gitlab-pipeline" => provider(
            &[("url", "https://gitlab.com"), ("environment", "")],
            &[
                ("build-signer-uri", "https://{{ .ci_config_ref_uri }}"),
                ("build-signer-digest", "ci_config_sha"),
                ("runner-environment", "runner_environment"),
                ("source-repository-uri", "{{ .url }}/{{ .project_path }}"),
                ("source-repository-digest", "sha"),
                (
                    "source-repository-ref",
                    r#"refs/{{if eq .ref_type "branch"}}heads/{{ else }}tags/{{end}}{{ .ref }}"#,
                ),
                ("source-repository-identifier", "project_id"),
                ("source-repository-owner-uri", "{{ .url }}/{{ .namespace_path }}"),
                ("source-repository-owner-identifier", "namespace_id"),
                ("build-config-uri", "https://{{ .ci_config_ref_uri }}"),
                ("build-config-digest", "ci_config_sha"),
                ("build-trigger", "pipeline_source"),
                ("run-invocation-uri", "{{ .url }}/{{ .project_path }}/-/jobs/{{ .job_id }}"),
                ("source-repository-visibility-at-signing", "project_visibility"),
                ("deployment-environment", "environment"),
            ],
            "https://{{ .ci_config_ref_uri }}",
        ),
        "codefresh-workflow" => provider(
            &[
                ("platform_url", "https://g.codefresh.io"),
                ("scm_repo_url", ""),
                ("scm_ref", ""),
                ("runner_environment", ""),
            ],
            &[
                ("build-signer-uri", "{{.platform_url}}/build/{{ .workflow_id }}"),
                ("runner-environment", "runner_environment"),
                ("source-repository-uri", "scm_repo_url"),
                ("source-repository-ref", "scm_ref"),
                ("build-config-uri", "{{.platform_url}}/api/pipelines/{{ .pipeline_id }}"),
                ("run-invocation-uri", "{{.platform_url}}/build/{{ .workflow_id }}"),
            ],
            "{{.platform_url}}/{{.account_name}}/{{.pipeline_name}}:{{.account_id}}/{{.pipeline_id}}",
        ),
        "buildkite-job" => provider(
            &[("url", "https://buildkite.com")],
            &[
                (
                    "run-invocation-uri",
                    "{{.url}}/{{.organization_slug}}/{{.pipeline_slug}}/builds/{{.build_number}}#{{.job_id}}",
                ),
                ("runner-environment", "runner_environment"),
                ("source-repository-digest", "build_commit"),
                ("build-trigger", "build_source"),
            ],
            "{{.url}}/{{.organization_slug}}/{{.pipeline_slug}}",
        ),
        "circleci-job" => provider(
            &[("api_url", "https://circleci.com/api/v2"), ("platform_url", "https://app.circleci.com/")],
            &[
                ("build-config-uri", r#"{{.api_url}}/pipeline/{{(index . "oidc.circleci.com/pipeline-id")}}/config"#),
                (
                    "build-signer-uri",
                    r#"{{.api_url}}/projects/{{(index . "oidc.circleci.com/project-id")}}/pipeline-definitions/{{(index . "oidc.circleci.com/pipeline-definition-id")}}"#,
                ),
                (
                    "run-invocation-uri",
                    r#"{{.platform_url}}/workflow/{{(index . "oidc.circleci.com/workflow-id")}}/job/{{(index . "oidc.circleci.com/job-id")}}"#,
                ),
                (
                    "runner-environment",
                    r#"{{if eq (index . "oidc.circleci.com/ssh-rerun") "true"}}ssh-rerun{{ else }}""{{end}}"#,
                ),
                ("source-repository-ref", r#"{{index . "oidc.circleci.com/vcs-ref"}}"#),
                ("source-repository-uri", r#"{{index . "oidc.circleci.com/vcs-origin"}}"#),
            ],
            r#"{{.api_url}}/projects/{{(index . "oidc.circleci.com/project-id")}}/pipeline-definitions/{{(index . "oidc.circleci.com/pipeline-definition-id")}}"#,
        ),
        "buddy-pipeline" => provider(
            &[("base_url", "https://app.buddy.works"), ("revision", ""), ("ref", "")],
            &[
                (
                    "build-signer-uri",
                    "{{.base_url}}/{{.workspace_domain}}/{{.project_name}}/pipelines/pipeline/{{.pipeline_id}}",
                ),
                ("build-trigger", "triggered_on"),
                ("runner-environment", "runner_environment"),
                ("source-repository-uri", "{{.base_url}}/{{.workspace_domain}}/{{.project_name}}"),
                ("source-repository-digest", "revision"),
                ("source-repository-ref", "ref"),
                ("source-repository-owner-uri", "{{.base_url}}/{{.workspace_domain}}"),
                (
                    "run-invocation-uri",
                    "{{.base_url}}/{{.workspace_domain}}/{{.project_name}}/pipelines/pipeline/{{.pipeline_id}}/execution/{{.execution_id}}",
                ),
            ],
            "{{.base_url}}/{{.workspace_domain}}/{{.project_name}}/pipelines/pipeline/{{.pipeline_id}}",
        ),
        _ => return None,
    })
}

/// The deprecated `github-workflow` *issuer type*: upstream's hard-coded
/// `pkg/identity/github` principal. Same mapping as the built-in provider but
/// with the base URL fixed (a claim cannot override it) and no 1.23.
pub(crate) fn legacy_github() -> CiProvider {
    let g = "https://github.com";
    let config = provider(
        &[],
        &[
            ("github-workflow-trigger", "event_name"),
            ("github-workflow-sha", "sha"),
            ("github-workflow-name", "workflow"),
            ("github-workflow-repository", "repository"),
            ("github-workflow-ref", "ref"),
            ("build-signer-uri", &format!("{g}/{{{{ .job_workflow_ref }}}}")),
            ("build-signer-digest", "job_workflow_sha"),
            ("runner-environment", "runner_environment"),
            ("source-repository-uri", &format!("{g}/{{{{ .repository }}}}")),
            ("source-repository-digest", "sha"),
            ("source-repository-ref", "ref"),
            ("source-repository-identifier", "repository_id"),
            ("source-repository-owner-uri", &format!("{g}/{{{{ .repository_owner }}}}")),
            ("source-repository-owner-identifier", "repository_owner_id"),
            ("build-config-uri", &format!("{g}/{{{{ .workflow_ref }}}}")),
            ("build-config-digest", "workflow_sha"),
            ("build-trigger", "event_name"),
            (
                "run-invocation-uri",
                &format!("{g}/{{{{ .repository }}}}/actions/runs/{{{{ .run_id }}}}/attempts/{{{{ .run_attempt }}}}"),
            ),
            ("source-repository-visibility-at-signing", "repository_visibility"),
        ],
        &format!("{g}/{{{{ .job_workflow_ref }}}}"),
    );
    CiProvider::compile("github-workflow (issuer type)", &config).expect("legacy github templates compile")
}

/// Claims the legacy `github-workflow` issuer type requires (non-empty strings).
pub(crate) const LEGACY_GITHUB_REQUIRED: [&str; 16] = [
    "job_workflow_ref",
    "sha",
    "event_name",
    "repository",
    "workflow",
    "ref",
    "job_workflow_sha",
    "runner_environment",
    "repository_id",
    "repository_owner",
    "repository_owner_id",
    "repository_visibility",
    "workflow_ref",
    "workflow_sha",
    "run_id",
    "run_attempt",
];

/// The deprecated `gitlab-pipeline` issuer type (`pkg/identity/gitlabcom`),
/// with base URL `https://gitlab.com` fixed.
pub(crate) fn legacy_gitlab() -> CiProvider {
    let g = "https://gitlab.com";
    let config = provider(
        &[],
        &[
            ("build-signer-uri", "https://{{ .ci_config_ref_uri }}"),
            ("build-signer-digest", r#"{{ index . "ci_config_sha" }}"#),
            ("runner-environment", "runner_environment"),
            ("source-repository-uri", &format!("{g}/{{{{ .project_path }}}}")),
            ("source-repository-digest", "sha"),
            ("source-repository-ref", r#"refs/{{if eq .ref_type "branch"}}heads/{{ else }}tags/{{end}}{{ .ref }}"#),
            ("source-repository-identifier", "project_id"),
            ("source-repository-owner-uri", &format!("{g}/{{{{ .namespace_path }}}}")),
            ("source-repository-owner-identifier", "namespace_id"),
            ("build-config-uri", "https://{{ .ci_config_ref_uri }}"),
            ("build-config-digest", r#"{{ index . "ci_config_sha" }}"#),
            ("build-trigger", "pipeline_source"),
            ("run-invocation-uri", &format!("{g}/{{{{ .project_path }}}}/-/jobs/{{{{ .job_id }}}}")),
            ("source-repository-visibility-at-signing", r#"{{ index . "project_visibility" }}"#),
        ],
        "https://{{ .ci_config_ref_uri }}",
    );
    CiProvider::compile("gitlab-pipeline (issuer type)", &config).expect("legacy gitlab templates compile")
}

/// Claims the legacy `gitlab-pipeline` issuer type requires (non-empty
/// strings; `runner_id` is checked separately as a non-zero integer).
pub(crate) const LEGACY_GITLAB_REQUIRED: [&str; 12] = [
    "project_path",
    "pipeline_source",
    "pipeline_id",
    "ci_config_ref_uri",
    "job_id",
    "ref",
    "ref_type",
    "namespace_path",
    "namespace_id",
    "project_id",
    "sha",
    "runner_environment",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_compiles() {
        for name in BUILTIN_CI_PROVIDERS {
            let cfg = builtin_ci_provider(name).unwrap();
            CiProvider::compile(name, &cfg).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        assert!(builtin_ci_provider("jenkins").is_none());
        legacy_github();
        legacy_gitlab();
    }

    #[test]
    fn github_builtin_covers_every_claim_derived_oid() {
        let p = CiProvider::compile("github-workflow", &builtin_ci_provider("github-workflow").unwrap()).unwrap();
        let oids: Vec<&str> = p.extensions.iter().map(|e| e.oid).collect();
        let want: Vec<String> = [2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23]
            .iter()
            .map(|n| format!("1.3.6.1.4.1.57264.1.{n}"))
            .collect();
        assert_eq!(oids, want);
    }
}
