//! `/v1/provider_accounts`: SMS provider accounts (Twilio, the simulator) that business
//! numbers name. The auth token is write-only: answers say only whether one is set, and it is
//! never logged.

use engine::catalog::Stored;
use engine::domain::{
    Name, ProviderAccount, ProviderAccountId, ProviderKind, SimulatorSettings, ValidationError,
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::crud::{ResourceApi, View, double_option, id_or_generate};

/// How a simulator account behaves; absent fields take their defaults.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulatorInput {
    /// From hand-off to `delivered` (`sent` halfway), milliseconds (default 1000).
    #[serde(default, deserialize_with = "crate::schema::lenient_int")]
    #[schema(value_type = Option<u32>, minimum = 0, maximum = 600000)]
    pub delivery_delay_ms: Option<i64>,
    /// Percent of texts reported `undelivered` with error 30003 (default 0).
    #[serde(default, deserialize_with = "crate::schema::lenient_int")]
    #[schema(value_type = Option<u8>, minimum = 0, maximum = 100)]
    pub failure_percent: Option<i64>,
    /// Percent of delivered texts the customer answers (default 0).
    #[serde(default, deserialize_with = "crate::schema::lenient_int")]
    #[schema(value_type = Option<u8>, minimum = 0, maximum = 100)]
    pub reply_percent: Option<i64>,
    /// From delivery to the customer's answer, milliseconds (default 3000).
    #[serde(default, deserialize_with = "crate::schema::lenient_int")]
    #[schema(value_type = Option<u32>, minimum = 0, maximum = 600000)]
    pub reply_delay_ms: Option<i64>,
    /// Percent of the customers' answers that are `STOP`, opting them out (default 0).
    #[serde(default, deserialize_with = "crate::schema::lenient_int")]
    #[schema(value_type = Option<u8>, minimum = 0, maximum = 100)]
    pub opt_out_percent: Option<i64>,
}

impl SimulatorInput {
    fn settings(&self) -> Result<SimulatorSettings, ValidationError> {
        fn within<T: TryFrom<i64>>(
            field: &str,
            value: Option<i64>,
            max: i64,
            default: T,
        ) -> Result<T, ValidationError> {
            match value {
                None => Ok(default),
                Some(v) if (0..=max).contains(&v) => T::try_from(v).map_err(|_| {
                    ValidationError::invalid(format!("simulator.{field}"), "out of range")
                }),
                Some(_) => Err(ValidationError::invalid(
                    format!("simulator.{field}"),
                    format!("must be 0 to {max}"),
                )),
            }
        }
        let defaults = SimulatorSettings::default();
        Ok(SimulatorSettings {
            delivery_delay_ms: within(
                "delivery_delay_ms",
                self.delivery_delay_ms,
                600_000,
                defaults.delivery_delay_ms,
            )?,
            failure_percent: within("failure_percent", self.failure_percent, 100, 0)?,
            reply_percent: within("reply_percent", self.reply_percent, 100, 0)?,
            reply_delay_ms: within(
                "reply_delay_ms",
                self.reply_delay_ms,
                600_000,
                defaults.reply_delay_ms,
            )?,
            opt_out_percent: within("opt_out_percent", self.opt_out_percent, 100, 0)?,
        })
    }
}

/// A new provider account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"id": "twilio-main", "name": "Twilio main", "provider": "twilio",
    "account_sid": "AC00000000000000000000000000000001", "auth_token": "your-auth-token"}))]
pub struct CreateProviderAccount {
    /// Your own id; made when absent.
    #[schema(value_type = Option<crate::schema::IdText>)]
    pub id: Option<String>,
    /// Unique among accounts.
    #[schema(value_type = crate::schema::NameText)]
    pub name: String,
    /// `twilio` or `simulator`.
    pub provider: ProviderKind,
    /// Twilio's `AccountSid`: `AC` and 32 hexadecimal digits (required for `twilio`).
    #[schema(pattern = r"^AC[0-9a-fA-F]{32}$")]
    pub account_sid: Option<String>,
    /// Twilio's auth token, 8 to 128 visible characters (required for `twilio`); never
    /// answered.
    #[schema(min_length = 8, max_length = 128, pattern = r"^[!-~]+$")]
    pub auth_token: Option<String>,
    /// The REST base URL (default `https://api.twilio.com`).
    #[schema(pattern = r"^https?://\S+$", max_length = 500)]
    pub base_url: Option<String>,
    /// A simulator's behaviour (delivery delay, failure and reply shares); only for
    /// `simulator`.
    #[schema(value_type = Option<SimulatorInput>)]
    pub simulator: Option<crate::schema::Obj<SimulatorInput>>,
}

/// Changes to a provider account; `null` clears `base_url`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchProviderAccount {
    /// A new name.
    #[schema(value_type = Option<crate::schema::NameText>)]
    pub name: Option<String>,
    /// A new account SID.
    #[schema(pattern = r"^AC[0-9a-fA-F]{32}$")]
    pub account_sid: Option<String>,
    /// A new auth token (rotation).
    #[schema(min_length = 8, max_length = 128, pattern = r"^[!-~]+$")]
    pub auth_token: Option<String>,
    /// A new base URL, or `null` for the default.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(nullable, pattern = r"^https?://\S+$", max_length = 500)]
    pub base_url: Option<Option<String>>,
    /// New simulator settings, or `null` for the defaults.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(nullable, value_type = Option<SimulatorInput>)]
    pub simulator: Option<Option<crate::schema::Obj<SimulatorInput>>>,
}

impl ResourceApi for ProviderAccount {
    const PATH: &'static str = "/v1/provider_accounts";
    const TAG: &'static str = "provider_accounts";
    type Create = CreateProviderAccount;
    type Patch = PatchProviderAccount;

    fn create(input: CreateProviderAccount) -> Result<Self, ValidationError> {
        let account = ProviderAccount {
            id: id_or_generate(
                input.id,
                ProviderAccountId::parse,
                ProviderAccountId::generate,
            )?,
            name: Name::parse("name", &input.name)?,
            provider: input.provider,
            account_sid: input.account_sid,
            auth_token: input.auth_token,
            base_url: input.base_url,
            simulator: input.simulator.as_ref().map(|s| s.settings()).transpose()?,
        };
        account.validate()?;
        Ok(account)
    }

    fn patch(mut self, input: &PatchProviderAccount) -> Result<Self, ValidationError> {
        if let Some(name) = &input.name {
            self.name = Name::parse("name", name)?;
        }
        if let Some(sid) = &input.account_sid {
            self.account_sid = Some(sid.clone());
        }
        if let Some(token) = &input.auth_token {
            self.auth_token = Some(token.clone());
        }
        if let Some(url) = &input.base_url {
            self.base_url = url.clone();
        }
        if let Some(settings) = &input.simulator {
            self.simulator = settings.as_ref().map(|s| s.settings()).transpose()?;
        }
        self.validate()?;
        Ok(self)
    }

    fn answer(stored: &Stored<Self>) -> serde_json::Value {
        let mut view = serde_json::to_value(View::from(stored)).expect("resources serialise");
        if let Some(fields) = view.as_object_mut() {
            fields.remove("auth_token");
            fields.insert(
                "auth_token_set".into(),
                serde_json::Value::Bool(stored.resource.auth_token.is_some()),
            );
        }
        view
    }
}
