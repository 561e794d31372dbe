//! The gRPC test server's code, generated from scenarios/protos (the
//! example's proto, which the grpc tests' scenarios name too) with protox
//! (no protoc on the machine) and tonic's generator.

fn main() {
    println!("cargo:rerun-if-changed=../scenarios/protos");
    let fds = protox::compile(["greeter.proto"], ["../scenarios/protos"])
        .expect("scenarios/protos compile");
    tonic_prost_build::configure()
        .build_client(false)
        .compile_fds(fds)
        .expect("tonic's generator");
}
