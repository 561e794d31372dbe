//! What step parsing shares: the scenario-wide defaults a step's params
//! fall back to, and turning text into fixed text or templates.

use crate::error::{ScenarioError, field};
use crate::model::*;
use crate::template::{self, Escape, Names, Ref, Template};
use crate::tls::{TlsBlock, TlsConfig};
use serde::de::DeserializeOwned;

/// Scenario-wide values a step's params fall back to, the distinct TLS
/// configurations found so far, and the names templates may use.
pub(super) struct Defaults<'a> {
    pub(super) max_body: u64,
    pub(super) max_read: u64,
    pub(super) tls: Option<TlsBlock>,
    pub(super) cookies: bool,
    pub(super) http_version: Option<contract::HttpVersion>,
    pub(super) proxy: Option<String>,
    pub(super) configs: Vec<TlsConfig>,
    pub(super) names: Names<'a>,
}

impl Defaults<'_> {
    /// The index of `step`'s TLS configuration (the scenario's block with
    /// the step's over it); none when neither sets anything.
    pub(super) fn tls_for(
        &mut self,
        step: Option<&TlsBlock>,
        at: &str,
        always: bool,
    ) -> Result<Option<usize>, ScenarioError> {
        if !always && step.is_none() && self.tls.is_none() {
            return Ok(None);
        }
        let config = TlsConfig::merge(self.tls.as_ref(), step, at)?;
        Ok(Some(match self.configs.iter().position(|c| *c == config) {
            Some(i) => i,
            None => {
                self.configs.push(config);
                self.configs.len() - 1
            }
        }))
    }
}

/// The templated parts of a call being parsed.
#[derive(Default)]
pub(super) struct Parts(pub(super) CallTemplate);

impl Parts {
    /// The text the call holds for `part`: `t` itself when fixed; otherwise
    /// the template is kept for rendering and the call holds a readable
    /// placeholder (`${name}`), which validation and egress rules see.
    pub(super) fn take(&mut self, part: Part, t: Template, names: &Names) -> String {
        if let Some(fixed) = t.as_fixed() {
            return fixed.to_string();
        }
        let shown = t
            .render(&mut Placeholder(names))
            .map(|c| c.into_owned())
            .unwrap_or_default();
        self.0.0.push((part, t));
        shown
    }
}

/// Writes each reference as it was written.
pub(super) struct Placeholder<'a, 'b>(&'a Names<'b>);

impl template::Scope for Placeholder<'_, '_> {
    fn write(&mut self, r: &Ref, out: &mut String) -> Result<(), String> {
        let n = self.0;
        let name = match r {
            Ref::Vu => "vu".into(),
            Ref::Iteration => "iteration".into(),
            Ref::Scenario => "scenario".into(),
            Ref::Uuid => "uuid".into(),
            Ref::NowMs => "now_ms".into(),
            Ref::RandomInt(a, b) => format!("random_int({a},{b})"),
            Ref::RandomString(len) => format!("random_string({len})"),
            Ref::Setup(slot) => format!("setup.{}", n.variables[*slot]),
            Ref::Var(slot) => n.variables[*slot].clone(),
            Ref::Data { source, column } => {
                let d = &n.data[*source];
                format!("{}.{}", d.name, d.columns[*column])
            }
        };
        out.push_str("${");
        out.push_str(&name);
        out.push('}');
        Ok(())
    }
}

/// Text that may use `${env.*}` but nothing that varies during the run
/// (targets decide egress rules, which are fixed before it starts).
pub(super) fn fixed_text(at: &str, text: &str, names: &Names) -> Result<String, ScenarioError> {
    let t = Template::parse(text, Escape::Raw, names).map_err(|m| field(at, m))?;
    t.as_fixed().map(str::to_string).ok_or_else(|| {
        field(
            at,
            "may use ${env.NAME} but no variable: where a step sends is fixed before the run (egress rules)",
        )
    })
}

pub(super) fn text_template(
    at: &str,
    text: &str,
    names: &Names,
) -> Result<Template, ScenarioError> {
    Template::parse(text, Escape::Raw, names).map_err(|m| field(at, m))
}

/// Deserializes a step's `params` into the kind's typed parameters.
pub(super) fn typed<T: DeserializeOwned>(
    at: &str,
    v: serde_yaml::Value,
) -> Result<T, ScenarioError> {
    let v = if v.is_null() {
        serde_yaml::Value::Mapping(Default::default())
    } else {
        v
    };
    T::deserialize(v).map_err(|e| field(at, e.to_string().replace('\n', " ")))
}
