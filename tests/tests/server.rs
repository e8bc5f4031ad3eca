//! The app over real HTTP: graceful shutdown drains in-flight requests.

use std::time::Duration;

use pingjia_tests::for_each_backend;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn shutdown_drains_an_in_flight_request_and_then_refuses_connections() {
    for_each_backend(|app| async move {
        let key = app.admin().await;
        let mut server = app.serve().await;
        let body = json!({"code": "320700", "name": "连云港市", "level": "city"}).to_string();
        let (first, rest) = body.as_bytes().split_at(body.len() / 2);

        let mut stream = TcpStream::connect(server.addr).await.expect("connect");
        let head = format!(
            "POST /api/v1/regions HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {key}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.expect("write head");
        stream.write_all(first).await.expect("write half the body");
        tokio::time::sleep(Duration::from_millis(300)).await;

        // The request is in flight (its body half sent) when the signal arrives.
        server.signal_shutdown();
        tokio::time::sleep(Duration::from_millis(300)).await;
        stream.write_all(rest).await.expect("write the rest");
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .await
            .expect("read response");
        assert!(response.starts_with("HTTP/1.1 201"), "{response}");

        let addr = server.addr;
        server.stopped().await.expect("clean stop");
        assert!(
            TcpStream::connect(addr).await.is_err(),
            "no longer accepting"
        );
        // The drained write was committed.
        app.get("/api/v1/regions/320700", &key).await.expect(200);
    })
    .await;
}

#[tokio::test]
async fn the_real_server_answers_with_request_ids_and_json_errors() {
    for_each_backend(|app| async move {
        let mut server = app.serve().await;
        let mut stream = TcpStream::connect(server.addr).await.expect("connect");
        stream
            .write_all(b"GET /nowhere HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
            .await
            .expect("write");
        let mut response = String::new();
        stream.read_to_string(&mut response).await.expect("read");
        assert!(response.starts_with("HTTP/1.1 404"), "{response}");
        assert!(
            response.to_lowercase().contains("x-request-id: "),
            "{response}"
        );
        assert!(response.contains(r#""code":"not_found""#), "{response}");
        server.signal_shutdown();
        server.stopped().await.expect("clean stop");
    })
    .await;
}
