//! Attachments on S3, against a real S3-compatible server: moto's server
//! mode, which `.ci/services.sh` (`ensure_s3`) installs and starts and names
//! in `TASKER_TEST_S3_ENDPOINT`. The server signs its requests, stores each
//! object with its sniffed `Content-Type`, and hands out presigned download
//! URLs that make S3 answer with the type and the original file name.

use std::time::Duration;

use object_store::{
    Attribute, ObjectStoreExt,
    aws::{AmazonS3, AmazonS3Builder},
    path::Path as ObjectPath,
};
use reqwest::{Client, StatusCode, header};
use serde_json::Value;

use crate::support::{Env, Server};

/// The S3-compatible server the tests use; there is no silent skip.
fn s3_endpoint() -> String {
    std::env::var("TASKER_TEST_S3_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "the S3 tests need an S3-compatible server: run `. .ci/services.sh && ensure_s3` \
             (moto on 127.0.0.1:5000), or set TASKER_TEST_S3_ENDPOINT"
        )
    })
}

/// A fresh bucket (moto takes unsigned requests for setting up).
async fn new_bucket(client: &Client, endpoint: &str) -> String {
    let bucket = format!("tasker-test-{}", uuid::Uuid::new_v4().simple());
    let created = client
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("S3 server at {endpoint} unreachable: {e}"));
    assert!(created.status().is_success(), "create bucket: {created:?}");
    bucket
}

/// A signed client of `bucket`, to look at what the server stored.
fn bucket_client(endpoint: &str, bucket: &str) -> AmazonS3 {
    // object_store's HTTP client uses rustls; ring is the crypto provider,
    // as in the server (a second install is a no-op).
    let _ = rustls::crypto::ring::default_provider().install_default();
    AmazonS3Builder::new()
        .with_endpoint(endpoint)
        .with_allow_http(true)
        .with_region("us-east-1")
        .with_bucket_name(bucket)
        .with_access_key_id("AKIDTASKERTEST")
        .with_secret_access_key("not-a-real-secret-key")
        .build()
        .expect("S3 client")
}

/// A multipart body as a browser's `FormData` sends it: the file name raw
/// in UTF-8 inside the quotes.
fn browser_form(name: &str, content: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         Content-Type: application/pdf\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pdf_on_s3_downloads_as_application_pdf_with_its_original_name() {
    let endpoint = s3_endpoint();
    let client = Client::new();
    let bucket = new_bucket(&client, &endpoint).await;
    let env = Env::defaults()
        .set("TASKER_STORAGE__BACKEND", "s3")
        .set("TASKER_STORAGE__S3__BUCKET", bucket.clone())
        .set("TASKER_STORAGE__S3__ENDPOINT", endpoint.clone())
        .set("TASKER_STORAGE__S3__ALLOW_HTTP", "true")
        .set("TASKER_STORAGE__S3__ACCESS_KEY_ID", "AKIDTASKERTEST")
        .set(
            "TASKER_STORAGE__S3__SECRET_ACCESS_KEY",
            "not-a-real-secret-key",
        );
    let server = Server::start(&env, &["--no-worker", "--no-scheduler"]).await;
    let token = env.token(&["--user", "carol"]);
    let api = |path: &str| format!("{}/api/v1{path}", server.url);

    let todo: Value = client
        .post(api("/todos"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"title": "Pay the invoice"}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let todo_id = todo["id"].as_str().expect("id");

    let content = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n".to_vec();
    let name = "Rechnung März \"final\".pdf";
    let (content_type, body) = browser_form(name, &content);
    let uploaded = client
        .post(api(&format!("/todos/{todo_id}/attachments")))
        .bearer_auth(&token)
        .header(header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .expect("upload");
    assert_eq!(
        uploaded.status(),
        StatusCode::CREATED,
        "{}",
        server.log_text()
    );
    let attachment: Value = uploaded.json().await.expect("json");
    assert_eq!(attachment["mimeType"], "application/pdf");
    let attachment_id = attachment["id"].as_str().expect("id");
    let stored_name = attachment["name"].as_str().expect("name").to_owned();
    let key = attachment["downloadKey"].as_str().expect("key");

    // The object itself carries the sniffed type.
    let s3 = bucket_client(&endpoint, &bucket);
    let object = ObjectPath::parse(key).expect("key");
    let stored = s3.get(&object).await.expect("the object is in the bucket");
    assert_eq!(
        stored
            .attributes
            .get(&Attribute::ContentType)
            .map(|v| v.as_ref()),
        Some("application/pdf")
    );
    assert_eq!(
        stored.bytes().await.expect("bytes").as_ref(),
        content.as_slice()
    );

    let link: Value = client
        .get(api(&format!(
            "/todos/{todo_id}/attachments/{attachment_id}/download"
        )))
        .bearer_auth(&token)
        .send()
        .await
        .expect("link")
        .json()
        .await
        .expect("json");
    let url = link["url"].as_str().expect("url");
    assert!(url.starts_with(&endpoint), "{url}");
    assert!(url.contains("X-Amz-Signature="), "presigned: {url}");
    assert!(url.contains("response-content-disposition="), "{url}");

    // The browser opens the URL: no token, straight from S3.
    let file = client.get(url).send().await.expect("download");
    assert_eq!(file.status(), StatusCode::OK);
    assert_eq!(file.headers()[header::CONTENT_TYPE], "application/pdf");
    let disposition = file.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .expect("ASCII header")
        .to_owned();
    let encoded: String =
        percent_encoding::utf8_percent_encode(&stored_name, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    assert!(
        disposition.starts_with("attachment; filename=\""),
        "{disposition}"
    );
    assert!(
        disposition
            .to_ascii_lowercase()
            .contains(&format!("filename*=utf-8''{}", decode_to_compare(&encoded))),
        "{disposition} names {stored_name}"
    );
    assert_eq!(
        file.bytes().await.expect("bytes").as_ref(),
        content.as_slice()
    );

    let deleted = client
        .delete(api(&format!(
            "/todos/{todo_id}/attachments/{attachment_id}"
        )))
        .bearer_auth(&token)
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Err(object_store::Error::NotFound { .. }) = s3.head(&object).await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(
        gone.is_ok(),
        "the object is removed with the attachment\n{}",
        server.log_text()
    );
}

/// Lowercased, with the characters RFC 8187 leaves unencoded decoded again,
/// so that the comparison does not depend on which of them an encoder escapes.
fn decode_to_compare(encoded: &str) -> String {
    let mut out = encoded.to_ascii_lowercase();
    for c in "!#$&+-.^_`|~".chars() {
        out = out.replace(&format!("%{:02x}", c as u32), &c.to_string());
    }
    out
}
