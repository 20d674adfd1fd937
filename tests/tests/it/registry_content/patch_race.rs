//! Concurrent `PATCH`es of one upload: exactly one chunk is taken, and the blob holds its bytes.

use super::{Client, error_code, header, sha256};

/// Eight clients send a different first chunk to the same upload at once: one gets 202, the
/// others 416; completing with the winner's digest stores exactly the winner's bytes.
pub(super) async fn patch_race(c: &Client) {
    let repo = "admin/hello";
    let resp = c
        .req(reqwest::Method::POST, &format!("/v2/{repo}/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let location = header(&resp, "location");
    let mut tasks = Vec::new();
    for seed in 1..=8u8 {
        let body: Vec<u8> = (0..150_000 + usize::from(seed) * 20_000)
            .map(|i| seed.wrapping_mul(31).wrapping_add((i % 251) as u8))
            .collect();
        let req = c
            .req(reqwest::Method::PATCH, &location)
            .header("Content-Range", format!("0-{}", body.len() - 1))
            .body(body.clone());
        tasks.push(tokio::spawn(async move {
            (req.send().await.expect("PATCH"), body)
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        let (resp, body) = t.await.unwrap();
        match resp.status().as_u16() {
            202 => {
                assert_eq!(header(&resp, "range"), format!("0-{}", body.len() - 1));
                winners.push(body);
            }
            416 => {}
            other => panic!("PATCH race: unexpected {other}: {:?}", resp.text().await),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one concurrent PATCH may win");
    let winner = winners.remove(0);
    let digest = sha256(&winner);
    let resp = c
        .req(reqwest::Method::PUT, &format!("{location}?digest={digest}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
    let resp = c
        .req(reqwest::Method::GET, &format!("/v2/{repo}/blobs/{digest}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let stored = resp.bytes().await.unwrap();
    assert!(
        stored[..] == winner[..],
        "the blob must hold the winner's bytes"
    );
    // The upload is gone.
    let resp = c.req(reqwest::Method::GET, &location).send().await.unwrap();
    assert_eq!(error_code(resp).await, (404, "BLOB_UPLOAD_UNKNOWN".into()));
}
