//! Lets the binary find the libpython it was linked against without LD_LIBRARY_PATH, and
//! records which Python that is for `routewall --version`.

fn main() {
    pyo3_build_config::add_libpython_rpath_link_args();
    let config = pyo3_build_config::get();
    let lib = match (config.lib_dir(), config.lib_name()) {
        (Some(dir), Some(name)) => format!("{dir}/lib{name}.so"),
        _ => "libpython".to_owned(),
    };
    println!(
        "cargo:rustc-env=ROUTEWALL_PYTHON_BUILD=Python {} ({lib})",
        config.version()
    );
    println!("cargo:rerun-if-env-changed=PYO3_PYTHON");
}
