//! The client address behind a reverse proxy: `X-Forwarded-For` is believed
//! only from `trusted_proxies`, and only its right-most untrusted entry.

use crate::helpers::{TestApp, assert_error, spawn_app_with};

async fn healthz(app: &TestApp, forwarded: Option<&str>) -> reqwest::Response {
    let mut request = app.http.get(app.url("/healthz"));
    if let Some(value) = forwarded {
        request = request.header("X-Forwarded-For", value);
    }
    request.send().await.expect("request")
}

#[tokio::test]
async fn a_direct_client_cannot_choose_its_address() {
    // No proxy trusted: the header is ignored, whatever it says.
    let app = spawn_app_with(|c| c.requests_per_address_per_minute = 5).await;
    for i in 0..5 {
        let spoof = format!("198.51.100.{i}");
        assert_eq!(healthz(&app, Some(&spoof)).await.status(), 200);
    }
    assert_error(
        healthz(&app, Some("198.51.100.99")).await,
        429,
        "rate_limited",
    )
    .await;
    // Trusting some other proxy changes nothing for a peer that is not it.
    let app = spawn_app_with(|c| {
        c.requests_per_address_per_minute = 5;
        c.trusted_proxies = vec!["10.0.0.0/8".parse().expect("a network")];
    })
    .await;
    for i in 0..5 {
        let spoof = format!("198.51.100.{i}");
        assert_eq!(healthz(&app, Some(&spoof)).await.status(), 200);
    }
    assert_error(
        healthz(&app, Some("203.0.113.1")).await,
        429,
        "rate_limited",
    )
    .await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_bucket() {
    let app = spawn_app_with(|c| {
        c.requests_per_address_per_minute = 5;
        c.trusted_proxies = vec!["127.0.0.1".parse().expect("an address")];
    })
    .await;
    // The noisy client puts whatever it likes on the left; the proxy appends
    // the address it saw (198.51.100.7) on the right.
    for i in 0..5 {
        let header = format!("203.0.113.{i}, 198.51.100.7");
        assert_eq!(healthz(&app, Some(&header)).await.status(), 200);
    }
    for spoof in [
        "203.0.113.50, 198.51.100.7",
        "198.51.100.7",
        "::ffff:198.51.100.7",
    ] {
        assert_error(healthz(&app, Some(spoof)).await, 429, "rate_limited").await;
    }
    // Another client is not limited by it.
    assert_eq!(healthz(&app, Some("198.51.100.8")).await.status(), 200);
    // IPv6 clients are counted by their /64: a noisy one cannot escape by
    // changing the low bits, and its neighbour network is someone else.
    for i in 0..5 {
        let address = format!("2001:db8:1:2::{i:x}");
        assert_eq!(healthz(&app, Some(&address)).await.status(), 200);
    }
    assert_error(
        healthz(&app, Some("2001:db8:1:2:ffff:ffff:ffff:ffff")).await,
        429,
        "rate_limited",
    )
    .await;
    assert_eq!(healthz(&app, Some("2001:db8:1:3::1")).await.status(), 200);
    // A malformed header from the proxy: the proxy's own bucket, no panic.
    for bad in [
        "garbage",
        "",
        "198.51.100.9:80",
        "[::1]",
        ",",
        "1.2.3.4 5.6.7.8",
    ] {
        let status = healthz(&app, Some(bad)).await.status();
        assert!(status == 200 || status == 429, "{bad:?}: {status}");
    }
}
