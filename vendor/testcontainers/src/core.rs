pub(crate) use container::Docker;
#[cfg(feature = "experimental")]
pub(crate) use container_async::DockerAsync;

pub use self::{
    container::Container,
    image::{ContainerState, ExecCommand, Image, ImageArgs, Port, RunnableImage, WaitFor},
};

#[cfg(feature = "experimental")]
pub use self::container_async::ContainerAsync;

mod container;
#[cfg(feature = "experimental")]
mod container_async;
pub mod env;
mod image;

pub(crate) mod logs;
pub(crate) mod ports;
