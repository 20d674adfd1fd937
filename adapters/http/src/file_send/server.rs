//! A plain-HTTP/1 listener whose connections are [`FileSendStream`]s.
//!
//! It is what `actix_web::HttpServer::bind` sets up (same timeouts, graceful shutdown, HTTP/1
//! only, the socket's address as the app's host), with the socket wrapped before the HTTP
//! dispatcher sees it and its [`super::Sender`] put in each connection's data.

use std::fmt;
use std::future::ready;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use actix_http::{HttpService, Request, h1::H1Service};
use actix_server::ServerBuilder;
use actix_service::{IntoServiceFactory, ServiceFactoryExt as _, map_config};
use actix_web::body::MessageBody;
use actix_web::dev::{AppConfig, Extensions, Response, Service, ServiceFactory, fn_service};
use actix_web::rt::net::TcpStream;
use actix_web::{Error, http::KeepAlive};

use super::FileSendStream;

/// Binds `addr` on `builder` and serves `factory`'s app there over plain HTTP/1, each
/// connection able to send files ([`super::file_response`]).
///
/// # Errors
/// When `addr` cannot be bound.
pub fn bind_plain<F, I, S, B>(
    builder: ServerBuilder,
    addr: SocketAddr,
    factory: F,
) -> io::Result<ServerBuilder>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig> + 'static,
    S::Error: Into<Error> + 'static,
    S::InitError: fmt::Debug,
    S::Response: Into<Response<B>> + 'static,
    <S::Service as Service<Request>>::Future: 'static,
    S::Service: 'static,
    B: MessageBody + 'static,
{
    let shutdown = builder.graceful_shutdown_signal();
    let local = addr;
    builder.bind(format!("quay-http-{local}"), addr, move || {
        let app = factory()
            .into_factory()
            .map_err(|err| err.into().error_response());
        let signal = shutdown.clone();
        let http: H1Service<FileSendStream, _, _, _, _> = HttpService::build()
            .graceful_shutdown_signal(move || {
                let signal = signal.clone();
                async move { signal.notified().await }
            })
            .keep_alive(KeepAlive::default())
            .client_request_timeout(Duration::from_secs(5))
            .client_disconnect_timeout(Duration::from_secs(1))
            .h1_allow_half_closed(true)
            .local_addr(local)
            .on_connect_ext(|io: &FileSendStream, data: &mut Extensions| {
                data.insert(io.sender());
            })
            .h1(map_config(app, move |()| {
                // What `HttpServer` gives its apps: not secure, the socket's address as host.
                AppConfig::__priv_test_new(false, local.to_string(), local)
            }));
        fn_service(|tcp: TcpStream| {
            let peer = tcp.peer_addr().ok();
            ready(Ok((FileSendStream::new(tcp), peer)))
        })
        .and_then(http)
    })
}
