//! The gRPC test server's code, generated from protos/ with protox (no
//! protoc on the machine) and tonic's generator.

fn main() {
    println!("cargo:rerun-if-changed=protos");
    let fds = protox::compile(["greeter.proto"], ["protos"]).expect("test-kit/protos compile");
    tonic_prost_build::configure()
        .build_client(false)
        .compile_fds(fds)
        .expect("tonic's generator");
}
