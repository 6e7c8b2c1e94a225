use std::time::Duration;

/// The HTTP client every registry request uses: rustls with the system's roots (mirrors often sit behind a
/// company CA), a connect timeout so an unreachable host fails fast, and a total timeout so a stalled
/// download cannot hang a command.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(300))
        .user_agent(concat!("plughub/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the HTTP client's fixed configuration is valid")
}

/// reqwest's Display hides the cause ("error sending request"); the chain says what really happened.
pub fn describe_reqwest(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
