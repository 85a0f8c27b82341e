//! The `kp-node` daemon: its command line is `kp_node::cli`.

// The write path allocates many small buffers; mimalloc handles that
// pattern better than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    kp_node::cli::main(std::env::args_os())
}
