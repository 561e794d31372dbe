//! The files a scenario reads (TLS material, multipart uploads, gRPC
//! .proto files), and the
//! multipart forms its steps send: their files' bytes, given once when an
//! instance starts (and checked for the form's boundary then), and each
//! call's body.

use crate::grpc::{GrpcCall, ProtoFile};
use crate::model::{Call, HttpCall, Scenario};
use crate::multipart::{FieldValue, Multipart, holds_boundary};

impl HttpCall {
    /// The body to send: `body`, or the multipart form encoded.
    pub fn wire_body(&mut self) -> Result<Option<Vec<u8>>, String> {
        match &self.multipart {
            Some(m) => m.encode().map(Some),
            None => Ok(self.body.take()),
        }
    }
}

impl Scenario {
    /// Files the scenario reads (TLS certificates and keys, multipart
    /// uploads, .proto files: a grpc step's own, and once its files were
    /// given, what it imports), as written, each once.
    pub fn files(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .tls
            .iter()
            .flat_map(|c| c.files())
            .chain(self.multiparts().flat_map(|m| m.files()))
            .map(str::to_string)
            .collect();
        for g in self.grpc_calls() {
            out.push(g.proto.clone());
            out.extend(g.protos.iter().map(|p| p.path.clone()));
        }
        out.sort();
        out.dedup();
        out
    }

    /// The grpc steps' calls.
    pub fn grpc_calls(&self) -> impl Iterator<Item = &GrpcCall> {
        self.workflow.iter().filter_map(|s| match &s.call {
            Call::Grpc(g) => Some(g),
            _ => None,
        })
    }

    fn multiparts(&self) -> impl Iterator<Item = &Multipart> {
        self.workflow.iter().filter_map(|s| match &s.call {
            Call::Http(h) => h.multipart.as_ref(),
            _ => None,
        })
    }

    /// Fills the multipart uploads' bytes from `read` (the files the host
    /// passed); `Err` names a file not given, or one that holds the form's
    /// boundary (checked here, once, not on every request).
    pub fn give_files(
        &mut self,
        read: &mut dyn FnMut(&str) -> Option<Vec<u8>>,
    ) -> Result<(), String> {
        // Each proto once, however many steps name it.
        let mut protos: Vec<(String, std::sync::Arc<Vec<ProtoFile>>)> = Vec::new();
        for step in &mut self.workflow {
            if let Call::Grpc(g) = &mut step.call {
                if let Some((_, done)) = protos.iter().find(|(p, _)| *p == g.proto) {
                    g.protos = std::sync::Arc::clone(done);
                    continue;
                }
                let files = crate::grpc::closure(&g.proto, &mut |path| {
                    read(path).ok_or_else(|| "not among the files given".to_string())
                })?;
                g.protos = std::sync::Arc::new(files);
                protos.push((g.proto.clone(), std::sync::Arc::clone(&g.protos)));
                continue;
            }
            let Call::Http(h) = &mut step.call else {
                continue;
            };
            for f in h.multipart.iter_mut().flat_map(|m| m.fields.iter_mut()) {
                if let FieldValue::File { path, bytes, .. } = &mut f.value {
                    let data = read(path).ok_or_else(|| {
                        format!("scenario file {path}: not among the files given")
                    })?;
                    if holds_boundary(&data) {
                        return Err(format!(
                            "scenario file {path}: holds the multipart form's boundary"
                        ));
                    }
                    *bytes = data.into();
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::model::Call;
    use crate::multipart::BOUNDARY;

    #[test]
    fn a_file_holding_the_boundary_is_refused_once_when_given() {
        let yaml = "scenario:\n  id: m\n  load: {total_users: 1, iterations: 1}\n  workflow:\n    - {type: http, params: {method: POST, url: 'http://a.test/', multipart: {f: {file: f.bin}}}}\n";
        let mut s = crate::parse(yaml, &[]).unwrap();
        let e = s
            .clone()
            .give_files(&mut |_| Some(format!("x{BOUNDARY}y").into_bytes()))
            .unwrap_err();
        assert!(e.contains("f.bin") && e.contains("boundary"), "{e}");
        s.give_files(&mut |_| Some(b"fine".to_vec())).unwrap();
        let Call::Http(h) = &mut s.workflow[0].call else {
            panic!("an http step")
        };
        let body = h.wire_body().unwrap().unwrap();
        assert!(body.windows(4).any(|w| w == b"fine"));
    }
}
