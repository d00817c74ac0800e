//! `create`, and the container creation `run` shares with it (docker's `createContainer`):
//! pull when asked or when the image is missing, console size, warnings, `--cidfile`.

use api_types::ContainerCreateRequest;
use client::PullOptions;

use super::{eprintln, println, Ctx};
use crate::args::{ContainerFlags, CreateArgs};
use crate::error::{with_help, CliError, BIN};
use crate::format::ids::is_id_or_digest;
use crate::opts::container::{parse, OptsError};
use crate::stream::terminal::{stderr_is_tty, stdout_size};
use oci::Reference;

/// docker's usage lines, used in flag errors.
pub const RUN_USAGE: &str = "run [OPTIONS] IMAGE [COMMAND] [ARG...]";
pub const CREATE_USAGE: &str = "create [OPTIONS] IMAGE [COMMAND] [ARG...]";

/// `berth create`.
pub async fn create(ctx: &Ctx, args: CreateArgs) -> Result<(), CliError> {
    let mut req = build_request(&args.flags, "create")?;
    let id = create_container(ctx, &mut req, &args.flags).await?;
    println(&id);
    Ok(())
}

/// Validates `--pull` and turns the flags into a create request, with docker's exit 125
/// wording for bad flags.
pub fn build_request(
    flags: &ContainerFlags,
    command: &str,
) -> Result<ContainerCreateRequest, CliError> {
    if !matches!(flags.pull.as_str(), "always" | "missing" | "never" | "") {
        let e = format!(
            "invalid pull option: '{}': must be one of \"always\", \"missing\" or \"never\"",
            flags.pull
        );
        return Err(CliError::status(with_help(&e, command), 125));
    }
    parse(flags).map_err(|e| match e {
        OptsError::Flag { .. } => {
            let usage = if command == "run" {
                RUN_USAGE
            } else {
                CREATE_USAGE
            };
            CliError::usage(e, &format!("{BIN} {usage}"), &format!("{BIN} {command}"))
        }
        OptsError::Invalid { .. } => CliError::status(with_help(&e.to_string(), command), 125),
    })
}

/// Creates the container, pulling the image first when `--pull always`, or after a 404 with
/// `--pull missing`. Returns its ID.
pub async fn create_container(
    ctx: &Ctx,
    req: &mut ContainerCreateRequest,
    flags: &ContainerFlags,
) -> Result<String, CliError> {
    let image = req.config.image.clone();
    let named = if is_id_or_digest(&image) {
        None
    } else {
        Some(
            Reference::parse(&image)
                .map_err(|e| CliError::new(e.to_string()))?
                .with_default_tag(),
        )
    };
    let cid = CidFile::create(&req.host_config.container_id_file)?;
    if flags.pull == "always" {
        pull(ctx, &image, flags).await?;
    }
    let (h, w) = stdout_size();
    req.host_config.console_size = Some(vec![h as u32, w as u32]);
    let name = flags.name.as_deref();
    let resp = match ctx.client.container_create(req, name).await {
        Err(e) if e.is_not_found() && named.is_some() && flags.pull == "missing" => {
            if !flags.quiet {
                eprintln(&format!(
                    "Unable to find image '{}' locally",
                    named.as_ref().map(Reference::familiar).unwrap_or_default()
                ));
            }
            pull(ctx, &image, flags).await?;
            ctx.client.container_create(req, name).await?
        }
        r => r?,
    };
    for w in &resp.warnings {
        eprintln(&format!("WARNING: {w}"));
    }
    cid.write(&resp.id)?;
    Ok(resp.id)
}

/// `POST /images/create?fromImage=` with progress on stderr (docker's `pullImage`).
async fn pull(ctx: &Ctx, image: &str, flags: &ContainerFlags) -> Result<(), CliError> {
    let r = Reference::parse(image).map_err(|e| CliError::new(e.to_string()))?;
    let tag = r
        .digest()
        .map(|d| d.to_string())
        .or_else(|| r.tag().map(str::to_string))
        .unwrap_or_else(|| "latest".into());
    let opts = PullOptions {
        from_image: r.repository(),
        tag: Some(tag),
        platform: flags.platform.clone(),
        registry_auth: Some(super::pull::registry_auth(ctx, r.domain())?),
    };
    let stream = ctx.client.image_pull(&opts).await?;
    super::pull::draw(stream, std::io::stderr(), stderr_is_tty(), 200, flags.quiet).await
}

/// `--cidfile`: refused if it exists; removed again unless an ID was written.
struct CidFile {
    path: Option<std::path::PathBuf>,
    written: std::cell::Cell<bool>,
}

impl CidFile {
    fn create(path: &str) -> Result<CidFile, CliError> {
        if path.is_empty() {
            return Ok(CidFile {
                path: None,
                written: false.into(),
            });
        }
        let p = std::path::PathBuf::from(path);
        if p.exists() {
            return Err(CliError::new(format!("container ID file found, make sure the other container isn't running or delete {path}")));
        }
        std::fs::File::create(&p)
            .map_err(|e| CliError::new(format!("failed to create the container ID file: {e}")))?;
        Ok(CidFile {
            path: Some(p),
            written: false.into(),
        })
    }

    fn write(&self, id: &str) -> Result<(), CliError> {
        if let Some(p) = &self.path {
            std::fs::write(p, id).map_err(|e| {
                CliError::new(format!("failed to write the container ID to the file: {e}"))
            })?;
            self.written.set(true);
        }
        Ok(())
    }
}

impl Drop for CidFile {
    fn drop(&mut self) {
        if let (Some(p), false) = (&self.path, self.written.get()) {
            let _ = std::fs::remove_file(p);
        }
    }
}
