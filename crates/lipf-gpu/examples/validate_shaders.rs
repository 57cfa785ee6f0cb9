//! Parses and validates every registry shader with naga and prints the errors (the same check
//! as tests/gpu_checks.rs, without building the test crate).
fn main() {
    let mut bad = 0;
    for s in lipf_gpu::shaders::SHADERS {
        let path = format!("shaders/{}.wgsl", s.name);
        match naga::front::wgsl::parse_str(s.source) {
            Err(e) => {
                bad += 1;
                eprintln!("{}", e.emit_to_string_with_path(s.source, &path));
            }
            Ok(m) => {
                let v = naga::valid::Validator::new(
                    naga::valid::ValidationFlags::all(),
                    naga::valid::Capabilities::empty(),
                )
                .validate(&m);
                if let Err(e) = v {
                    bad += 1;
                    eprintln!("{}", e.emit_to_string_with_path(s.source, &path));
                }
            }
        }
    }
    println!(
        "{} shaders, {bad} invalid",
        lipf_gpu::shaders::SHADERS.len()
    );
    std::process::exit(if bad == 0 { 0 } else { 1 });
}
