use switchboard_sdk::prelude::*;
struct Hello;
impl Connector for Hello {
    fn manifest() -> Manifest {
        Manifest::new("hello", "0.1.0", "Hello world").channel("web").webhook()
    }
    fn handle_webhook(req: HttpRequest) -> Result<WebhookOutcome, ConnectorError> {
        let f = req.form()?;
        let who = Contact::new().email(f.require("email")?).name(f.get("name").unwrap_or(""));
        let msg = Interaction::message("web", f.require("id")?, who).text(f.require("text")?);
        Ok(WebhookOutcome::ok([msg]))
    }
}
export_connector!(Hello);
