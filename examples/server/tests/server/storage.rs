//! Attachments on S3: the server talks to a local fake of the S3 API
//! (path-style, plain HTTP), signs its requests, and hands out presigned
//! download URLs.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, Response, body::Incoming};
use reqwest::{Client, StatusCode, multipart};
use serde_json::Value;

use crate::support::{Env, Server, fake_server};

#[derive(Default)]
struct Bucket {
    objects: HashMap<String, Bytes>,
    /// `Authorization` or `X-Amz-Signature` seen on each request.
    signed: Vec<bool>,
}

/// PUT, GET, HEAD and DELETE of `/{bucket}/{key}` and DeleteObjects
/// (`POST /{bucket}?delete`), like S3 with path-style addressing.
async fn fake_s3() -> (String, Arc<Mutex<Bucket>>) {
    let bucket = Arc::new(Mutex::new(Bucket::default()));
    let shared = Arc::clone(&bucket);
    let url = fake_server(move |req| answer(Arc::clone(&shared), req)).await;
    (url, bucket)
}

async fn answer(bucket: Arc<Mutex<Bucket>>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let signed = req.headers().get("authorization").is_some_and(|v| {
        v.to_str()
            .is_ok_and(|v| v.starts_with("AWS4-HMAC-SHA256 Credential=AKIDTASKERTEST/"))
    }) || req
        .uri()
        .query()
        .is_some_and(|q| q.contains("X-Amz-Signature=") && q.contains("AKIDTASKERTEST"));
    let method = req.method().clone();
    let bulk_delete = method == Method::POST && req.uri().query() == Some("delete");
    let key = req
        .uri()
        .path()
        .trim_start_matches("/tasker-test/")
        .to_owned();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let mut bucket = bucket.lock().expect("lock");
    bucket.signed.push(signed);
    let response = Response::builder()
        .header("etag", "\"0123456789abcdef\"")
        .header("last-modified", "Wed, 25 Nov 2026 10:00:00 GMT");
    let response = match method {
        // DeleteObjects: `<Delete><Object><Key>…</Key></Object>…</Delete>`.
        Method::POST if bulk_delete => {
            let text = String::from_utf8_lossy(&body);
            let mut deleted = String::new();
            for part in text.split("<Key>").skip(1) {
                let key = part.split("</Key>").next().unwrap_or_default();
                bucket.objects.remove(key);
                deleted.push_str(&format!("<Deleted><Key>{key}</Key></Deleted>"));
            }
            response.body(Full::new(Bytes::from(format!(
                "<DeleteResult>{deleted}</DeleteResult>"
            ))))
        }
        Method::PUT => {
            bucket.objects.insert(key, body);
            response.body(Full::new(Bytes::new()))
        }
        Method::GET | Method::HEAD => match bucket.objects.get(&key) {
            Some(object) => response
                .header("content-length", object.len())
                .body(Full::new(if method == Method::GET {
                    object.clone()
                } else {
                    Bytes::new()
                })),
            None => Response::builder()
                .status(404)
                .body(Full::new(Bytes::from_static(
                    b"<Error><Code>NoSuchKey</Code></Error>",
                ))),
        },
        Method::DELETE => {
            bucket.objects.remove(&key);
            Response::builder()
                .status(204)
                .body(Full::new(Bytes::new()))
        }
        _ => Response::builder()
            .status(405)
            .body(Full::new(Bytes::new())),
    };
    response.expect("response")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_live_in_s3_with_presigned_downloads() {
    let (endpoint, bucket) = fake_s3().await;
    let env = Env::defaults()
        .set("TASKER_STORAGE__BACKEND", "s3")
        .set("TASKER_STORAGE__S3__BUCKET", "tasker-test")
        .set("TASKER_STORAGE__S3__ENDPOINT", endpoint.clone())
        .set("TASKER_STORAGE__S3__ALLOW_HTTP", "true")
        .set("TASKER_STORAGE__S3__ACCESS_KEY_ID", "AKIDTASKERTEST")
        .set(
            "TASKER_STORAGE__S3__SECRET_ACCESS_KEY",
            "not-a-real-secret-key",
        );
    let server = Server::start(&env, &["--no-worker", "--no-scheduler"]).await;
    let token = env.token(&["--user", "carol"]);
    let client = Client::new();
    let api = |path: &str| format!("{}/api/v1{path}", server.url);

    let todo: Value = client
        .post(api("/todos"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"title": "Scan the receipts"}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let todo_id = todo["id"].as_str().expect("id");

    let content = b"%PDF-1.4\nreceipts\n".to_vec();
    let form = multipart::Form::new().part(
        "file",
        multipart::Part::bytes(content.clone()).file_name("receipts.pdf"),
    );
    let uploaded = client
        .post(api(&format!("/todos/{todo_id}/attachments")))
        .bearer_auth(&token)
        .multipart(form)
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
    let attachment_id = attachment["id"].as_str().expect("id");
    {
        let bucket = bucket.lock().expect("lock");
        assert_eq!(bucket.objects.len(), 1, "one object in the bucket");
        let stored = bucket.objects.values().next().expect("object");
        assert_eq!(stored.as_ref(), content.as_slice());
        assert!(bucket.signed.iter().all(|s| *s), "every request is signed");
    }

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
    let file = client.get(url).send().await.expect("download");
    assert_eq!(file.status(), StatusCode::OK);
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
    let gone = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if bucket.lock().expect("lock").objects.is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(
        gone.is_ok(),
        "the object is removed with the attachment: {:?}\n{}",
        bucket
            .lock()
            .expect("lock")
            .objects
            .keys()
            .collect::<Vec<_>>(),
        server.log_text()
    );
}
