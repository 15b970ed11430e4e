//! The Swagger UI at `/api/docs`: served whole by the binary, calling no other host.

use reqwest::{StatusCode, Url};

use crate::helpers::{TestApp, spawn_app};

/// GETs `url`, following redirects by hand (the test client does not), within our server.
async fn get_following(app: &TestApp, url: Url) -> (Url, reqwest::Response) {
    let mut url = url;
    for _ in 0..5 {
        let response = app.client.get(url.clone()).send().await.unwrap();
        if !response.status().is_redirection() {
            return (url, response);
        }
        let location = response.headers()["location"].to_str().unwrap();
        let next = url.join(location).unwrap();
        assert_eq!(next.origin(), url.origin(), "redirected off the server");
        url = next;
    }
    panic!("too many redirects from {url}");
}

/// The values of `attribute="…"` in an HTML page.
fn attribute_values<'a>(html: &'a str, attribute: &str) -> Vec<&'a str> {
    let needle = format!("{attribute}=\"");
    html.match_indices(&needle)
        .filter(|(at, _)| {
            // A whole attribute name, not the end of another one (`data-src`).
            html[..*at]
                .chars()
                .next_back()
                .is_some_and(char::is_whitespace)
        })
        .map(|(at, _)| {
            let rest = &html[at + needle.len()..];
            &rest[..rest.find('"').expect("a closing quote")]
        })
        .collect()
}

/// The absolute `http(s)://` URLs in a text.
fn absolute_urls(text: &str) -> Vec<String> {
    let mut urls = Vec::new();
    for scheme in ["http://", "https://"] {
        for (at, _) in text.match_indices(scheme) {
            let rest = &text[at..];
            let end = rest
                .find(|c: char| c.is_whitespace() || "\"'()<>".contains(c))
                .unwrap_or(rest.len());
            urls.push(rest[..end].to_owned());
        }
    }
    urls
}

#[tokio::test]
async fn swagger_ui_is_served_with_all_its_assets_from_the_server() {
    let app = spawn_app().await;
    let origin = Url::parse(&app.address).unwrap();
    let (page_url, page) = get_following(&app, origin.join("/api/docs").unwrap()).await;
    assert_eq!(page.status(), StatusCode::OK);
    let content_type = page.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");

    let mut assets: Vec<Url> = attribute_values(&html, "src")
        .into_iter()
        .chain(attribute_values(&html, "href"))
        .map(|reference| page_url.join(reference).unwrap())
        .collect();
    let initializer = page_url.join("swagger-initializer.js").unwrap();
    assets.push(initializer.clone());
    assert!(
        assets
            .iter()
            .any(|a| a.path().ends_with("swagger-ui-bundle.js")),
        "{assets:?}"
    );
    assert!(
        assets.iter().any(|a| a.path().ends_with(".css")),
        "{assets:?}"
    );

    for asset in &assets {
        assert_eq!(asset.origin(), origin.origin(), "{asset} is not ours");
        let response = app.client.get(asset.clone()).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
        let is_css = asset.path().ends_with(".css");
        let body = response.bytes().await.unwrap();
        assert!(!body.is_empty(), "{asset} is empty");
        if is_css {
            // Stylesheets pull in nothing from elsewhere: every url() is inline data.
            let css = String::from_utf8_lossy(&body);
            for (at, _) in css.match_indices("url(") {
                let target = css[at + 4..].trim_start_matches(['"', '\'']);
                assert!(target.starts_with("data:"), "{asset}: url({target:.40})");
            }
        }
    }

    let script = app.client.get(initializer).send().await.unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    let script = script.text().await.unwrap();
    assert!(
        script.contains(r#""url": "/api/openapi.json""#),
        "the UI loads our document: {script}"
    );
    // Swagger UI would otherwise load a badge image from validator.swagger.io, sending it
    // the address of the document.
    assert!(
        script.contains(r#""validatorUrl": "none""#),
        "the online validator is off: {script}"
    );
    for text in [&html, &script] {
        let external: Vec<String> = absolute_urls(text)
            .into_iter()
            .filter(|url| !url.starts_with(&app.address))
            .collect();
        assert!(external.is_empty(), "external URLs: {external:?}");
    }
}
