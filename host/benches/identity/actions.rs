//! What anyone does, on every channel: each action pushes the requests it makes, with the
//! identifiers in them that are truly the person's.

use super::*;

impl Gen {
    /// `n` actions on the channels the person uses.
    pub(super) fn generic(&mut self, p: usize, n: u64) {
        for _ in 0..n {
            let at = self.time(p);
            let pr = &self.profiles[p];
            let has_mobile = !pr.mobiles.is_empty();
            let has_email = pr.private.is_some() || pr.work.is_some();
            let russian = pr.region == Some(Region::Ru);
            let weights = [
                if has_email || has_mobile { 18 } else { 0 },
                if has_email { 12 } else { 0 },
                if pr.telegram.is_some() { 10 } else { 0 },
                if has_mobile { 8 } else { 0 },
                if has_mobile { 8 } else { 0 },
                if has_mobile || pr.landline.is_some() { 5 } else { 0 },
                if has_mobile { 3 } else { 0 },
                8,
                if has_email { 4 } else { 0 },
                8,
                if has_mobile { 4 } else { 0 },
                if has_email { 4 } else { 0 },
                if pr.shopify.is_some() { 4 } else { 0 },
                if russian { 15 } else { 1 },
            ];
            match self.rng.weighted(&weights) {
                0 => {
                    let email = self.profiles[p].private.clone().or(self.profiles[p].work.clone());
                    let mobile =
                        self.mobile_at(p, at).filter(|_| self.rng.chance(0.7)).map(|m| m.e164());
                    self.shopify_order(p, at, email, mobile);
                }
                1 => {
                    let pr = &self.profiles[p];
                    let from =
                        if pr.work.is_some() && (pr.private.is_none() || self.rng.chance(0.3)) {
                            pr.work.clone()
                        } else {
                            pr.private.clone()
                        };
                    self.plain_mail(p, at, from.unwrap(), 0.35);
                }
                2 => {
                    let share = self.rng.chance(0.3);
                    self.telegram(p, at, share);
                }
                3 => self.whatsapp(p, at),
                4 => self.sms(p, at, None),
                5 => self.call(p, at, None),
                6 => {
                    let mut links = Vec::new();
                    let mobile = self.mobile_at(p, at).unwrap();
                    let typed = self.typed_phone(p, Some(&mobile)).unwrap();
                    if JUNK_PHONES.contains(&typed.as_str()) {
                        // The form wants six digits at least: "n/a" becomes zeros.
                        let phone = if typed.chars().filter(char::is_ascii_digit).count() >= 6 {
                            typed
                        } else {
                            self.label(
                                junk_key("phone", "0000000000"),
                                "placeholder phone",
                                String::new(),
                            );
                            "0000000000".into()
                        };
                        self.callback(p, at, phone, links);
                    } else {
                        self.link(p, mobile.key(), "callback form", &mut links);
                        self.callback(p, at, typed, links);
                    }
                }
                7 => self.browse(p, at),
                8 => self.chat(p, at),
                9 => self.till(p, at, None),
                10 => self.lead(p, at),
                11 => {
                    let email =
                        self.profiles[p].private.clone().or(self.profiles[p].work.clone()).unwrap();
                    let mut links = Vec::new();
                    self.link(p, email.key(), "checkout e-mail", &mut links);
                    let customer = self.profiles[p].stripe.clone();
                    if let Some(c) = &customer {
                        self.link(
                            p,
                            format!("external stripe:customer:{c}"),
                            "Stripe customer",
                            &mut links,
                        );
                    }
                    let phone = self.mobile_at(p, at).filter(|_| self.rng.chance(0.5));
                    if let Some(m) = &phone {
                        self.link(p, m.key(), "checkout phone", &mut links);
                    }
                    let name = Some(self.shown_name(p));
                    let written = Some(email.written(&mut self.rng));
                    let amount = self.rng.range(1500, 12000) as i64;
                    let reference = Some(format!("WEB-{}", self.next_id()));
                    let session = Spec::Stripe(StripePayment {
                        session: true,
                        intent: format!("pi_3S{}", self.rng.hex(20)),
                        event: format!("evt_1S{}", self.rng.hex(20)),
                        customer,
                        email: written,
                        name,
                        phone: phone.map(|m| m.e164()),
                        order: reference,
                        amount,
                        shipping: None,
                    });
                    self.push(at, p, links, session);
                }
                12 => {
                    let id = self.profiles[p].shopify.unwrap();
                    let mut links = Vec::new();
                    let email = self.profiles[p].private.clone();
                    let mobile = self.mobile_at(p, at).filter(|_| self.rng.chance(0.5));
                    let customer =
                        self.shop_customer_with(p, id, email, mobile.map(|m| m.e164()), &mut links);
                    let webhook = self.uuid();
                    self.push(at, p, links, Spec::Customer { webhook, customer });
                }
                _ => self.ozon_self(p, at),
            }
        }
    }

    pub(super) fn order_number(&mut self) -> String {
        format!("#{}", 1000 + self.next_id())
    }

    pub(super) fn posting_number(&mut self) -> (String, String) {
        let order = format!("{}-{}", self.rng.digits(8), self.rng.digits(4));
        (format!("{order}-1"), order)
    }

    pub(super) fn uuid(&mut self) -> String {
        let r = &mut self.rng;
        format!("{}-{}-4{}-a{}-{}", r.hex(8), r.hex(4), r.hex(3), r.hex(3), r.hex(12))
    }

    pub(super) fn address(&mut self, p: usize, phone: Option<&Phone>) -> Address {
        let (first, last) = self.name_parts(p);
        let (city, zip) = *self.rng.pick(CITIES);
        let line1 = format!("{} {}", self.rng.range(1, 120), self.rng.pick(STREETS));
        let phone = phone.map(|m| m.typed(&mut self.rng));
        Address { first, last, phone, company: None, line1, city, zip }
    }

    pub(super) fn shop_customer(
        &mut self,
        p: usize,
        email: Option<Email>,
        phone: Option<String>,
        links: &mut Vec<Link>,
    ) -> Option<ShopCustomer> {
        let id = self.profiles[p].shopify?;
        Some(self.shop_customer_with(p, id, email, phone, links))
    }

    pub(super) fn shop_customer_with(
        &mut self,
        p: usize,
        id: u64,
        email: Option<Email>,
        phone: Option<String>,
        links: &mut Vec<Link>,
    ) -> ShopCustomer {
        self.link(p, format!("external shopify:customer:{id}"), "Shopify customer", links);
        if let Some(e) = &email {
            self.link(p, e.key(), "account e-mail", links);
        }
        if let Some(phone) = &phone {
            self.link(p, format!("phone {phone}"), "account phone", links);
        }
        let (first, last) = self.name_parts(p);
        ShopCustomer { id, email: email.map(|e| e.written(&mut self.rng)), phone, first, last }
    }

    /// A Shopify order of their own (`phone`: E.164, as Shopify stores it), often paid on
    /// Stripe and tracked by AfterShip (and EasyPost).
    pub(super) fn shopify_order(
        &mut self,
        p: usize,
        at: i64,
        email: Option<Email>,
        phone: Option<String>,
    ) {
        let mut links = Vec::new();
        let account = self.rng.chance(0.7).then_some(()).and(self.profiles[p].shopify);
        let customer = match account {
            Some(id) => {
                let phone = phone.clone().filter(|_| self.rng.chance(0.5));
                Some(self.shop_customer_with(p, id, email.clone(), phone, &mut links))
            }
            None => None,
        };
        if let Some(e) = &email {
            self.link(p, e.key(), "order e-mail", &mut links);
        }
        if let Some(phone) = &phone {
            self.link(p, format!("phone {phone}"), "order phone", &mut links);
        }
        if email.is_none() && phone.is_none() && customer.is_none() {
            return;
        }
        let mobile = self.mobile_at(p, at);
        // Delivered to themselves; the connectors keep a delivery phone on the order (it may
        // be a gift recipient's), so it links nothing.
        let ship_to = Some(self.address(p, mobile.as_ref()));
        let number = self.order_number();
        links.push(Link { key: format!("order {number}"), via: "order number" });
        let order = ShopOrder {
            id: self.rng.range(800_000_000_000_000_000, 899_999_999_999_999_999),
            number: number.clone(),
            email: email.as_ref().map(|e| e.written(&mut self.rng)),
            phone: phone.clone(),
            customer,
            ship_to: ship_to.clone(),
            bill_to: ship_to.map(|a| Address { phone: None, ..a }),
            lines: self.lines(),
            locale: self.profiles[p].region.unwrap().locale(),
        };
        let amount = total(&order.lines);
        self.push(at, p, links, Spec::Order(Box::new(order)));
        let order_link = Link { key: format!("order {number}"), via: "order number" };
        if self.rng.chance(0.4) {
            let mut links = vec![order_link.clone()];
            let receipt = email.clone().filter(|_| self.rng.chance(0.8));
            if let Some(e) = &receipt {
                self.link(p, e.key(), "receipt e-mail", &mut links);
            }
            let customer = self.profiles[p].stripe.clone();
            if let Some(c) = &customer {
                self.link(
                    p,
                    format!("external stripe:customer:{c}"),
                    "Stripe customer",
                    &mut links,
                );
            }
            let written = receipt.map(|e| e.written(&mut self.rng));
            self.stripe(
                p,
                at + 90_000,
                written,
                None,
                customer,
                Some(number.clone()),
                amount,
                None,
                links,
            );
        }
        if self.rng.chance(0.5) {
            let mut links = vec![order_link];
            let emails: Vec<String> = email.iter().map(Email::plain).collect();
            if let Some(e) = &email {
                self.link(p, e.key(), "tracking notification e-mail", &mut links);
            }
            let smses: Vec<String> =
                mobile.iter().filter(|_| self.rng.chance(0.6)).map(Phone::e164).collect();
            for s in &smses {
                self.link(p, format!("phone {s}"), "tracking notification SMS", &mut links);
            }
            let name = Some(self.shown_name(p));
            self.tracking(p, at + 2 * DAY, number, name, emails, smses, links);
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn stripe(
        &mut self,
        p: usize,
        at: i64,
        email: Option<String>,
        name: Option<String>,
        customer: Option<String>,
        order: Option<String>,
        amount: i64,
        shipping: Option<(String, Option<String>)>,
        links: Vec<Link>,
    ) {
        let payment = StripePayment {
            session: false,
            intent: format!("pi_3S{}", self.rng.hex(20)),
            event: format!("evt_3S{}", self.rng.hex(20)),
            customer,
            email,
            name,
            phone: None,
            order,
            amount,
            shipping,
        };
        self.push(at, p, links, Spec::Stripe(payment));
    }

    /// AfterShip's tracking of an order, and sometimes EasyPost's tracker of the same parcel.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn tracking(
        &mut self,
        p: usize,
        at: i64,
        order: String,
        name: Option<String>,
        emails: Vec<String>,
        smses: Vec<String>,
        mut links: Vec<Link>,
    ) {
        let code = format!("6A{}", self.rng.digits(11));
        links.push(Link { key: format!("tracking {code}"), via: "tracking number" });
        let tracking = Tracking {
            aftership: true,
            id: self.rng.hex(24),
            code: code.clone(),
            carrier: "colissimo",
            order: Some(order),
            name,
            emails,
            smses,
        };
        self.push(at, p, links, Spec::Tracking(tracking));
        if self.rng.chance(0.3) {
            let links = vec![Link { key: format!("tracking {code}"), via: "tracking number" }];
            let tracker = Tracking {
                aftership: false,
                id: format!("trk_{}", self.rng.hex(32)),
                code,
                carrier: "ColisPrive",
                order: None,
                name: None,
                emails: vec![],
                smses: vec![],
            };
            self.push(at + DAY, p, links, Spec::Tracking(tracker));
        }
    }

    pub(super) fn mail(
        &mut self,
        p: usize,
        at: i64,
        from: &Email,
        from_name: String,
        signature: String,
        links: Vec<Link>,
    ) {
        let route = [MailRoute::Postmark, MailRoute::Mailgun, MailRoute::Sendgrid]
            [self.rng.weighted(&[40, 30, 30])];
        let body = format!("Bonjour,\n\n{}\n\n-- \n{signature}\n", self.text());
        let mail = Mail {
            route,
            message_id: format!(
                "{}.{}@mail.{}",
                self.next_id(),
                self.rng.hex(10),
                from.ascii_domain()
            ),
            from_name,
            from: from.written(&mut self.rng),
            subject: self.rng.pick(SUBJECTS).to_string(),
            body,
        };
        self.push(at, p, links, Spec::Mail(mail));
    }

    /// An e-mail from one of their own addresses, with their mobile in the signature with
    /// probability `signed`.
    pub(super) fn plain_mail(&mut self, p: usize, at: i64, from: Email, signed: f64) {
        let (signature, mut links) = self.signature(p, at, None, signed);
        self.link(p, from.key(), "e-mail sender", &mut links);
        let from_name = self.shown_name(p);
        self.mail(p, at, &from, from_name, signature, links);
    }

    pub(super) fn telegram(&mut self, p: usize, at: i64, share: bool) {
        let Some((user, username)) = self.profiles[p].telegram.clone() else { return };
        let mut links = Vec::new();
        self.link(p, format!("external telegram:user:{user}"), "Telegram user", &mut links);
        let mobile = self.mobile_at(p, at).filter(|_| share);
        let shared = mobile.as_ref().map(|m| {
            // Telegram's clients send the account's number in international digits, with or
            // without the `+`.
            if m.region == Region::Fr && self.rng.chance(0.5) { m.e164() } else { m.digits() }
        });
        if let Some(m) = &mobile {
            self.link(p, m.key(), "Telegram shared contact", &mut links);
        }
        let (first, last) = self.name_parts(p);
        let last = (!last.is_empty() && self.rng.chance(0.8)).then_some(last);
        let spec = Spec::Telegram {
            user,
            first,
            last,
            username,
            locale: self.profiles[p].region.unwrap().locale(),
            message: self.next_id(),
            text: if shared.is_some() { String::new() } else { self.text() },
            shared,
        };
        self.push(at, p, links, spec);
    }

    pub(super) fn whatsapp(&mut self, p: usize, at: i64) {
        let Some(mobile) = self.mobile_at(p, at) else { return };
        let mut links = Vec::new();
        self.link(p, mobile.key(), "WhatsApp wa_id", &mut links);
        let name =
            if self.rng.chance(0.8) { self.shown_name(p) } else { self.people[p].name.latin().0 };
        let id = format!("wamid.HBgL{}", self.rng.hex(40).to_uppercase());
        let spec = Spec::WhatsApp { wa_id: mobile.digits(), name, id, text: self.text() };
        self.push(at, p, links, spec);
    }

    pub(super) fn sms(&mut self, p: usize, at: i64, body: Option<String>) {
        let Some(mobile) = self.mobile_at(p, at) else { return };
        let mut links = Vec::new();
        self.link(p, mobile.key(), "SMS sender", &mut links);
        let body = body.unwrap_or_else(|| self.text());
        let spec = Spec::Sms { sid: format!("SM{}", self.rng.hex(32)), from: mobile.e164(), body };
        self.push(at, p, links, spec);
    }

    /// A phone call from `from` (default: their mobile, else their landline), and its status
    /// callback when it ends.
    pub(super) fn call(&mut self, p: usize, at: i64, from: Option<Phone>) {
        let from = from
            .or_else(|| self.mobile_at(p, at))
            .or_else(|| self.profiles[p].landline.as_ref().map(|(l, _)| l.clone()));
        let Some(from) = from else { return };
        let mut links = Vec::new();
        self.link(p, from.key(), "caller number", &mut links);
        let sid = format!("CA{}", self.rng.hex(32));
        let completed = self.rng.chance(0.5).then(|| self.rng.range(20, 600) as u32);
        self.push(
            at,
            p,
            links.clone(),
            Spec::Call { sid: sid.clone(), from: from.e164(), completed: None },
        );
        if let Some(duration) = completed {
            let spec = Spec::Call { sid, from: from.e164(), completed: Some(duration) };
            self.push(at + i64::from(duration) * 1000, p, links, spec);
        }
    }

    pub(super) fn callback(&mut self, p: usize, at: i64, phone: String, links: Vec<Link>) {
        let name = self.shown_name(p);
        let preferred =
            self.rng.pick(&["demain 10h", "tomorrow morning", "après 18h", "lundi"]).to_string();
        let id = format!("cb-{}", self.next_id());
        self.push(at, p, links, Spec::Callback { id, name, phone, preferred });
    }

    /// Anonymous product views, and sometimes a cart the visitor checks out with their details.
    pub(super) fn browse(&mut self, p: usize, at: i64) {
        let visitor = self.rng.pick(&self.profiles[p].visitors).clone();
        let visitor_key = format!("external web:visitor:{visitor}");
        for n in 0..self.rng.range(1, 2) {
            let mut links = Vec::new();
            self.link(p, visitor_key.clone(), "web visitor", &mut links);
            let event = WebEvent {
                id: format!("e-{}", self.next_id()),
                kind: "product_viewed",
                visitor: visitor.clone(),
                email: None,
                phone: None,
                name: None,
                cart: None,
                product: Some(self.rng.below(PRODUCTS.len() as u64) as usize),
                chat: None,
            };
            self.push(at + n as i64 * 60_000, p, links, Spec::Web(event));
        }
        if !self.rng.chance(0.5) {
            return;
        }
        let token = format!("c-{}", self.rng.hex(8));
        let items = self.lines();
        let mut links = Vec::new();
        self.link(p, visitor_key.clone(), "web visitor", &mut links);
        let cart = WebEvent {
            id: format!("e-{}", self.next_id()),
            kind: "cart_updated",
            visitor: visitor.clone(),
            email: None,
            phone: None,
            name: None,
            cart: Some((token.clone(), items.clone())),
            product: None,
            chat: None,
        };
        self.push(at + 180_000, p, links.clone(), Spec::Web(cart));
        let own = self.profiles[p].private.clone().or(self.profiles[p].work.clone());
        let email = self.typed_email(p, own.clone());
        if let (Some(own), Some(typed)) = (&own, &email)
            && !JUNK_EMAILS.contains(&typed.as_str())
        {
            self.link(p, own.key(), "checkout e-mail", &mut links);
        }
        let mobile = self.mobile_at(p, at).filter(|_| self.rng.chance(0.4));
        let phone = mobile.as_ref().and_then(|m| self.typed_phone(p, Some(m)));
        if let (Some(m), Some(typed)) = (&mobile, &phone)
            && !JUNK_PHONES.contains(&typed.as_str())
        {
            self.link(p, m.key(), "checkout phone", &mut links);
        }
        let checkout = WebEvent {
            id: format!("e-{}", self.next_id()),
            kind: "checkout_started",
            visitor: visitor.clone(),
            email,
            phone,
            name: Some(self.shown_name(p)),
            cart: Some((token.clone(), items)),
            product: None,
            chat: None,
        };
        self.push(at + 300_000, p, links, Spec::Web(checkout));
        self.carts.insert(p, (token, visitor));
    }

    pub(super) fn chat(&mut self, p: usize, at: i64) {
        let visitor = self.rng.pick(&self.profiles[p].visitors).clone();
        let mut links = Vec::new();
        self.link(p, format!("external web:visitor:{visitor}"), "web visitor", &mut links);
        let own = self.profiles[p].private.clone().or(self.profiles[p].work.clone());
        let email = own.as_ref().map(|e| e.written(&mut self.rng));
        if let Some(e) = &own {
            self.link(p, e.key(), "chat e-mail", &mut links);
        }
        let event = WebEvent {
            id: format!("e-{}", self.next_id()),
            kind: "chat_message",
            visitor,
            email,
            phone: None,
            name: None,
            cart: None,
            product: None,
            chat: Some((self.text(), format!("chat-{}", self.next_id()))),
        };
        self.push(at, p, links, Spec::Web(event));
    }

    /// An in-store sale: the phone the cashier typed (`phone` overrides their mobile), the
    /// loyalty card, sometimes the e-mail or the web cart scanned from its QR code.
    pub(super) fn till(&mut self, p: usize, at: i64, phone: Option<Phone>) {
        let mut links = Vec::new();
        let anonymous = self.rng.chance(0.05);
        let number = phone.clone().or_else(|| self.mobile_at(p, at)).filter(|_| !anonymous);
        let typed = match (&phone, &number) {
            (Some(fixed), _) => Some(fixed.typed(&mut self.rng)),
            (None, Some(m)) if self.rng.chance(0.7) => self.typed_phone(p, Some(m)),
            _ => None,
        };
        if let (Some(n), Some(t)) = (&number, &typed)
            && !JUNK_PHONES.contains(&t.as_str())
        {
            self.link(p, n.key(), "till phone", &mut links);
        }
        let loyalty =
            self.profiles[p].loyalty.clone().filter(|_| !anonymous && self.rng.chance(0.7));
        if let Some(card) = &loyalty {
            self.link(p, format!("external loyalty:card:{card}"), "loyalty card", &mut links);
        }
        let own = self.profiles[p].private.clone().filter(|_| !anonymous && self.rng.chance(0.2));
        let email = if own.is_some() { self.typed_email(p, own.clone()) } else { None };
        if let (Some(e), Some(t)) = (&own, &email)
            && !JUNK_EMAILS.contains(&t.as_str())
        {
            self.link(p, e.key(), "till e-mail", &mut links);
        }
        let scanned = self.carts.get(&p).cloned().filter(|_| !anonymous && self.rng.chance(0.3));
        if let Some((_, visitor)) = &scanned {
            self.link(
                p,
                format!("external web:visitor:{visitor}"),
                "web cart scanned at the till",
                &mut links,
            );
        }
        let name = (!anonymous && self.rng.chance(0.6)).then(|| self.shown_name(p));
        let sale = TillSale {
            id: format!("PAR01-{}-{:06}", self.rng.range(1, 4), self.next_id()),
            lines: self.lines(),
            card: self.rng.chance(0.7),
            phone: typed,
            email,
            loyalty,
            name,
            visitor: scanned.as_ref().map(|(_, v)| v.clone()),
            cart: scanned.map(|(t, _)| t),
        };
        links.push(Link { key: format!("order {}", sale.id), via: "sale id" });
        self.push(at, p, links, Spec::Till(sale));
    }

    /// A call or a message from the shop's Google listing.
    pub(super) fn lead(&mut self, p: usize, at: i64) {
        let mobile = self.mobile_at(p, at).unwrap();
        let call = self.rng.chance(0.6);
        let mut links = Vec::new();
        let phone = if call {
            Some(mobile.typed(&mut self.rng))
        } else {
            self.typed_phone(p, Some(&mobile))
        };
        if phone.as_deref().is_some_and(|t| !JUNK_PHONES.contains(&t)) {
            self.link(p, mobile.key(), "listing lead phone", &mut links);
        }
        let own = self.profiles[p].private.clone().filter(|_| !call && self.rng.chance(0.4));
        let email = if own.is_some() { self.typed_email(p, own.clone()) } else { None };
        if let (Some(e), Some(t)) = (&own, &email)
            && !JUNK_EMAILS.contains(&t.as_str())
        {
            self.link(p, e.key(), "listing lead e-mail", &mut links);
        }
        let lead = Lead {
            id: format!("lead-{}", self.next_id()),
            call,
            name: self.shown_name(p),
            phone,
            email,
            message: (!call).then(|| self.text()),
        };
        self.push(at, p, links, Spec::Lead(lead));
    }

    pub(super) fn ozon_buyer(&mut self, p: usize) -> u64 {
        if let Some(id) = self.profiles[p].ozon {
            return id;
        }
        let id = self.rng.range(10_000_000, 199_999_999);
        self.profiles[p].ozon = Some(id);
        self.claim(p);
        id
    }

    /// An Ozon posting delivered to themselves.
    pub(super) fn ozon_self(&mut self, p: usize, at: i64) {
        let id = self.ozon_buyer(p);
        let mut links = Vec::new();
        self.link(p, format!("external ozon:buyer:{id}"), "Ozon buyer", &mut links);
        let mobile = self.mobile_at(p, at);
        let phone = mobile.as_ref().filter(|_| self.rng.chance(0.5)).map(Phone::e164);
        if let (Some(m), Some(_)) = (&mobile, &phone) {
            self.link(p, m.key(), "Ozon buyer phone", &mut links);
        }
        let name = if self.profiles[p].region == Some(Region::Ru) {
            self.people[p].name.full()
        } else {
            self.shown_name(p)
        };
        let addressee = mobile.map(|m| (name.clone(), m.e164()));
        let (number, order_number) = self.posting_number();
        let lines = self.lines();
        let posting = Posting {
            number,
            order_number,
            buyer: Some(id),
            name,
            phone,
            email: None,
            addressee,
            lines,
        };
        self.push(at, p, links, Spec::Ozon(posting));
    }
}
