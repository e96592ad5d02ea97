//! `cargo run -p tasker-axum-embed`: the host application on `127.0.0.1:3000`
//! (or `APP_ADDR`), with tasker under `/tasks`. Ctrl-C stops it gracefully.

use tasker_axum_embed::{Config, Error, start};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt().try_init()?;
    let config = Config::from_env()?;
    let addr = std::env::var("APP_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = TcpListener::bind(&addr).await?;
    let running = start(config, listener).await?;
    tracing::info!(
        "try: curl -H 'Authorization: Bearer key1' http://{}/tasks/api/v1/todos",
        running.addr()
    );
    tokio::signal::ctrl_c().await?;
    tracing::info!("shutting down");
    running.shutdown().await
}
