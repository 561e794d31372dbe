//! deploy/: the Kubernetes manifests validate against the Kubernetes
//! schemas (kubernetes-validate --strict, installed by `cargo xtask`), the
//! kustomization lists each of them, and the shard count is one number.

use std::path::PathBuf;
use std::process::Command;

fn dir() -> PathBuf {
    test_kit::root().join("deploy/kubernetes")
}

fn manifests() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .filter(|p| !p.ends_with("kustomization.yaml"))
        .collect();
    files.sort();
    files
}

fn yaml(name: &str) -> serde_yaml::Value {
    serde_yaml::from_str(&std::fs::read_to_string(dir().join(name)).unwrap()).unwrap()
}

#[test]
fn the_manifests_validate_strictly_against_the_kubernetes_schemas() {
    let files = manifests();
    assert_eq!(files.len(), 5, "{files:?}");
    let out = Command::new("kubernetes-validate")
        .arg("--strict")
        .args(&files)
        .output()
        .expect("kubernetes-validate is installed by `cargo xtask test`");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert_eq!(
        text.matches(" passed for resource ").count(),
        files.len(),
        "{text}"
    );
    // The validator does reject a wrong field.
    let bad = std::env::temp_dir().join(format!("bad-job-{}.yaml", std::process::id()));
    let job = std::fs::read_to_string(dir().join("job-shards.yaml"))
        .unwrap()
        .replace(
            "completionMode: Indexed",
            "completionMode: Indexed\n  parallelismm: 4",
        );
    std::fs::write(&bad, job).unwrap();
    let out = Command::new("kubernetes-validate")
        .arg("--strict")
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success(), "a misspelt field should fail");
}

#[test]
fn the_kustomization_lists_every_manifest_and_the_shard_count_agrees() {
    let k = yaml("kustomization.yaml");
    let listed: Vec<String> = k["resources"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    let mut files: Vec<String> = manifests()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let mut sorted = listed.clone();
    sorted.sort();
    files.sort();
    assert_eq!(sorted, files);
    let job = yaml("job-shards.yaml");
    let run = yaml("configmap-run.yaml");
    let shards: u64 = run["data"]["SHARDS"].as_str().unwrap().parse().unwrap();
    assert_eq!(job["spec"]["completionMode"].as_str(), Some("Indexed"));
    assert_eq!(job["spec"]["completions"].as_u64(), Some(shards));
    assert_eq!(job["spec"]["parallelism"].as_u64(), Some(shards));
    let args = job["spec"]["template"]["spec"]["containers"][0]["args"][0]
        .as_str()
        .unwrap();
    for flag in [
        "--shard auto",
        "--start-at \"${START_AT}\"",
        "shard-${JOB_COMPLETION_INDEX}.json",
    ] {
        assert!(args.contains(flag), "{flag} in {args}");
    }
    // The scenario in the ConfigMap is one scheduler-host accepts.
    let scenario = yaml("configmap-scenario.yaml");
    let text = scenario["data"]["scenario.yaml"].as_str().unwrap();
    scenario::parse(text, &[]).expect("the example scenario parses");
}
