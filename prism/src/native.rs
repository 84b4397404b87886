//! Rust functions callable from Prism: closures of up to six arguments, each argument any
//! `Deserialize` type (read from the Prism value, [`Confident`](crate::Confident) included),
//! the result any `Serialize` type or a `Result` with a [`NativeError`]. Async functions
//! return a promise that the script `await`s.

use std::future::Future;
use std::sync::Arc;

use prism_compiler::span::Span;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::{from_data, to_data};
use prism_interp::Data;
use prism_interp::Interpreter;
use prism_interp::error::RuntimeError;
use prism_interp::value::Value;

/// A native function's body, shareable between interpreter threads.
pub(crate) type NativeBody =
    Arc<dyn Fn(&mut Interpreter, &[Value], Span) -> Result<Value, RuntimeError> + Send + Sync>;

/// An error a native function reports to the script: a runtime error there, which `try` can
/// catch (binding the message, or the thrown value of [`NativeError::thrown`]).
///
/// ```
/// use prism_lang::{Engine, NativeError};
///
/// let mut engine = Engine::new();
/// engine.register_fn("sqrt", |x: f64| -> Result<f64, NativeError> {
///     if x < 0.0 {
///         return Err(NativeError::new(format!("sqrt of negative number {x}")));
///     }
///     Ok(x.sqrt())
/// });
/// let out = engine.run("try { sqrt(-4) } catch (e) { 'caught: ' + e }")?;
/// assert_eq!(out.value().as_str(), Some("caught: sqrt of negative number -4"));
/// # Ok::<(), prism_lang::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct NativeError {
    message: String,
    thrown: Option<Data>,
}

impl NativeError {
    /// An error with a message (what `catch (e)` binds).
    ///
    /// ```
    /// use prism_lang::NativeError;
    /// assert_eq!(NativeError::new("no such user").to_string(), "no such user");
    /// ```
    pub fn new(message: impl std::fmt::Display) -> Self {
        NativeError {
            message: message.to_string(),
            thrown: None,
        }
    }

    /// An error that throws a value (what `catch (e)` binds); its message is the value as
    /// Prism prints it. A value that cannot be converted throws its conversion error.
    ///
    /// ```
    /// use prism_lang::{Engine, NativeError};
    ///
    /// let mut engine = Engine::new();
    /// engine.register_fn("lookup", |id: u32| -> Result<String, NativeError> {
    ///     Err(NativeError::thrown(&serde_json::json!({"status": 404, "id": id})))
    /// });
    /// let out = engine.run("try { lookup(7) } catch (e) { e.status + e.id }")?;
    /// assert_eq!(out.value().as_f64(), Some(411.0));
    /// # Ok::<(), prism_lang::Error>(())
    /// ```
    pub fn thrown<T: Serialize + ?Sized>(value: &T) -> Self {
        match to_data(value) {
            Ok(d) => NativeError {
                message: d.to_string(),
                thrown: Some(d),
            },
            Err(e) => NativeError::new(e),
        }
    }

    fn into_runtime(self) -> RuntimeError {
        match self.thrown {
            Some(d) => RuntimeError {
                value: Some(d.to_value()),
                ..RuntimeError::msg(self.message)
            },
            None => RuntimeError::msg(self.message),
        }
    }
}

impl From<&str> for NativeError {
    fn from(message: &str) -> Self {
        NativeError::new(message)
    }
}

impl From<String> for NativeError {
    fn from(message: String) -> Self {
        NativeError::new(message)
    }
}

impl From<Error> for NativeError {
    fn from(e: Error) -> Self {
        NativeError::new(e)
    }
}

/// Markers that tell the forms of native functions apart (never named by users).
#[doc(hidden)]
pub mod marker {
    /// The function returns its result directly.
    pub struct Direct<R>(std::marker::PhantomData<R>);
    /// The function returns `Result<R, NativeError>`.
    pub struct Fallible<R>(std::marker::PhantomData<R>);
}

/// A Rust closure or function that [`Engine::register_fn`](crate::Engine::register_fn)
/// accepts: up to six `Deserialize` arguments, returning a `Serialize` value or
/// `Result<impl Serialize, NativeError>`. Missing arguments read as `null` (so an
/// `Option` argument is optional); extra ones are ignored.
///
/// ```
/// use prism_lang::{Confident, Engine};
///
/// fn discount(price: f64, rate: Option<f64>) -> f64 {
///     price * (1.0 - rate.unwrap_or(0.1))
/// }
///
/// let mut engine = Engine::new();
/// engine.register_fn("discount", discount);
/// engine.register_fn("trust", |c: Confident<String>| c.confidence > 0.5);
/// let out = engine.run("[discount(100), discount(100, 0.5), trust('x' ~> 0.9)]")?;
/// assert_eq!(out.get::<(f64, f64, bool)>()?, (90.0, 50.0, true));
/// # Ok::<(), prism_lang::Error>(())
/// ```
pub trait NativeFn<Args, Marker>: Send + Sync + 'static {
    #[doc(hidden)]
    fn into_body(self, name: Arc<str>) -> NativeBody;
}

/// An async Rust closure that
/// [`Engine::register_async_fn`](crate::Engine::register_async_fn) accepts: up to six
/// `Deserialize` arguments, returning a `Send` future of a `Serialize` value or of
/// `Result<impl Serialize, NativeError>` (which rejects the promise with the message).
///
/// ```
/// use prism_lang::{Confident, Engine};
///
/// let mut engine = Engine::new();
/// engine.register_async_fn("fetchScore", |user: String| async move {
///     tokio::time::sleep(std::time::Duration::from_millis(5)).await;
///     Confident::new(user.len() as f64, 0.6)
/// });
/// let out = engine.run("await fetchScore('ada')")?;
/// assert_eq!(out.get::<Confident<f64>>()?, Confident::new(3.0, 0.6));
/// # Ok::<(), prism_lang::Error>(())
/// ```
pub trait NativeAsyncFn<Args, Marker>: Send + Sync + 'static {
    #[doc(hidden)]
    fn into_body(self, name: Arc<str>) -> NativeBody;
}

/// Reads argument `i` of a native call as a `T`.
fn arg<T: DeserializeOwned>(name: &str, args: &[Value], i: usize) -> Result<T, RuntimeError> {
    let d = match args.get(i) {
        Some(v) => Data::from_value(v).map_err(|e| bad_arg(name, i, &Error::from(e)))?,
        None => Data::Null,
    };
    from_data::<T>(&d).map_err(|e| bad_arg(name, i, &e))
}

fn bad_arg(name: &str, i: usize, e: &Error) -> RuntimeError {
    let msg = match e {
        Error::Conversion(m) => m.clone(),
        other => other.to_string(),
    };
    RuntimeError::msg(format!("{name}(): argument {}: {msg}", i + 1))
}

/// The Prism value of a native function's result.
fn ret<R: Serialize>(name: &str, r: &R) -> Result<Value, RuntimeError> {
    to_data(r)
        .map(|d| d.to_value())
        .map_err(|e| RuntimeError::msg(format!("{name}(): cannot convert the result: {e}")))
}

macro_rules! natives {
    ($(($ty:ident, $var:ident, $ix:tt)),*) => {
        impl<F, R, $($ty,)*> NativeFn<($($ty,)*), marker::Direct<R>> for F
        where
            F: Fn($($ty),*) -> R + Send + Sync + 'static,
            R: Serialize,
            $($ty: DeserializeOwned,)*
        {
            fn into_body(self, name: Arc<str>) -> NativeBody {
                Arc::new(move |_it: &mut Interpreter, _args: &[Value], _span: Span| {
                    $(let $var = arg::<$ty>(&name, _args, $ix)?;)*
                    ret(&name, &(self)($($var),*))
                })
            }
        }

        impl<F, R, $($ty,)*> NativeFn<($($ty,)*), marker::Fallible<R>> for F
        where
            F: Fn($($ty),*) -> Result<R, NativeError> + Send + Sync + 'static,
            R: Serialize,
            $($ty: DeserializeOwned,)*
        {
            fn into_body(self, name: Arc<str>) -> NativeBody {
                Arc::new(move |_it: &mut Interpreter, _args: &[Value], _span: Span| {
                    $(let $var = arg::<$ty>(&name, _args, $ix)?;)*
                    match (self)($($var),*) {
                        Ok(r) => ret(&name, &r),
                        Err(e) => Err(e.into_runtime()),
                    }
                })
            }
        }

        impl<F, Fut, R, $($ty,)*> NativeAsyncFn<($($ty,)*), marker::Direct<R>> for F
        where
            F: Fn($($ty),*) -> Fut + Send + Sync + 'static,
            Fut: Future<Output = R> + Send + 'static,
            R: Serialize,
            $($ty: DeserializeOwned,)*
        {
            fn into_body(self, name: Arc<str>) -> NativeBody {
                Arc::new(move |it: &mut Interpreter, _args: &[Value], _span: Span| {
                    $(let $var = arg::<$ty>(&name, _args, $ix)?;)*
                    let fut = (self)($($var),*);
                    let name = name.clone();
                    it.spawn_data(Box::pin(async move {
                        to_data(&fut.await)
                            .map_err(|e| format!("{name}(): cannot convert the result: {e}"))
                    }))
                })
            }
        }

        impl<F, Fut, R, $($ty,)*> NativeAsyncFn<($($ty,)*), marker::Fallible<R>> for F
        where
            F: Fn($($ty),*) -> Fut + Send + Sync + 'static,
            Fut: Future<Output = Result<R, NativeError>> + Send + 'static,
            R: Serialize,
            $($ty: DeserializeOwned,)*
        {
            fn into_body(self, name: Arc<str>) -> NativeBody {
                Arc::new(move |it: &mut Interpreter, _args: &[Value], _span: Span| {
                    $(let $var = arg::<$ty>(&name, _args, $ix)?;)*
                    let fut = (self)($($var),*);
                    let name = name.clone();
                    it.spawn_data(Box::pin(async move {
                        match fut.await {
                            Ok(r) => to_data(&r).map_err(|e| {
                                format!("{name}(): cannot convert the result: {e}")
                            }),
                            Err(e) => Err(e.message),
                        }
                    }))
                })
            }
        }
    };
}

natives!();
natives!((A1, a1, 0));
natives!((A1, a1, 0), (A2, a2, 1));
natives!((A1, a1, 0), (A2, a2, 1), (A3, a3, 2));
natives!((A1, a1, 0), (A2, a2, 1), (A3, a3, 2), (A4, a4, 3));
natives!(
    (A1, a1, 0),
    (A2, a2, 1),
    (A3, a3, 2),
    (A4, a4, 3),
    (A5, a5, 4)
);
natives!(
    (A1, a1, 0),
    (A2, a2, 1),
    (A3, a3, 2),
    (A4, a4, 3),
    (A5, a5, 4),
    (A6, a6, 5)
);
