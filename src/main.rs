use clap::Parser;

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("UPTAKE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = uptake::cli::Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(uptake::cli::run(cli));
    if std::env::var_os("UPTAKE_REPORT_PEAK_MEMORY").is_some() {
        eprintln!("peak_memory_kib={}", uptake::bench::peak_memory_kib());
    }
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
    Ok(())
}
