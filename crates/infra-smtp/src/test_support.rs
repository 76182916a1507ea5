//! A real SMTP server (mailin) on a local port, for tests: it keeps every
//! message it receives.

use std::net::{IpAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailin_embedded::{response, Handler, Response, Server};

/// A message as the server received it.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

impl ReceivedMail {
    /// The plain-text part, decoded from whatever transfer encoding it
    /// travelled in.
    pub fn text_body(&self) -> Option<String> {
        let message = mail_parser::MessageParser::default().parse(self.data.as_bytes())?;
        message.body_text(0).map(|text| text.into_owned())
    }

    /// The HTML part, decoded.
    pub fn html_body(&self) -> Option<String> {
        let message = mail_parser::MessageParser::default().parse(self.data.as_bytes())?;
        message.body_html(0).map(|html| html.into_owned())
    }

    /// The decoded subject.
    pub fn subject(&self) -> Option<String> {
        let message = mail_parser::MessageParser::default().parse(self.data.as_bytes())?;
        message.subject().map(str::to_owned)
    }

    /// The value of the first header called `name`.
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.data
            .lines()
            .take_while(|line| !line.is_empty())
            .find(|line| line.to_ascii_lowercase().starts_with(&prefix))
            .map(|line| line[prefix.len()..].trim().to_owned())
    }
}

#[derive(Clone)]
struct Recorder {
    received: Arc<Mutex<Vec<ReceivedMail>>>,
    current: Option<ReceivedMail>,
}

impl Handler for Recorder {
    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.current = Some(ReceivedMail {
            from: from.to_owned(),
            to: to.to_vec(),
            data: String::new(),
        });
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if let Some(current) = &mut self.current {
            current.data.push_str(&String::from_utf8_lossy(buf));
        }
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        if let Some(done) = self.current.take() {
            if let Ok(mut received) = self.received.lock() {
                received.push(done);
            }
        }
        response::OK
    }

    fn helo(&mut self, _ip: IpAddr, _domain: &str) -> Response {
        response::OK
    }
}

/// An SMTP server for one test. It runs until the test process ends.
pub struct TestSmtpServer {
    port: u16,
    received: Arc<Mutex<Vec<ReceivedMail>>>,
}

impl TestSmtpServer {
    /// Starts a server on a free port.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        Self::serve(listener)
    }

    /// A free port with no server on it yet: a mail server that is down.
    pub fn reserve_port() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        listener.local_addr().expect("local address").port()
    }

    /// Starts a server on `port`: the mail server comes back.
    pub fn start_on(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind the reserved port");
        Self::serve(listener)
    }

    fn serve(listener: TcpListener) -> Self {
        let port = listener.local_addr().expect("local address").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let mut server = Server::new(Recorder {
            received: Arc::clone(&received),
            current: None,
        });
        server.with_name("test-smtp").with_tcp_listener(listener);
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        Self { port, received }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn received(&self) -> Vec<ReceivedMail> {
        self.received.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Waits until at least `count` messages arrived, or `timeout` passed;
    /// returns what arrived.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let received = self.received();
            if received.len() >= count || tokio::time::Instant::now() >= deadline {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
