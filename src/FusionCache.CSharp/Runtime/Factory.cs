using System.Runtime.CompilerServices;
using Fusion.Core;
using LanguageExt;
using Microsoft.FSharp.Core;

namespace Fusion.Runtime;

/// <summary>The user's factory in any of its shapes, without a closure to adapt one to another: a factory without a
/// context costs no <see cref="FactoryContext{T}"/> either. Two families: factories that return <c>Either</c> (errors
/// as values) and factories that return the value (errors thrown).</summary>
internal readonly struct Factory<T>
{
    private enum Shape : byte { Plain, WithContext, ValueWithContext }

    private readonly Delegate _factory;
    private readonly Shape _shape;

    public Factory(Func<Task<Either<Err, T>>> plain) => (_factory, _shape) = (plain, Shape.Plain);

    // A Func<FactoryContext, …> is one of these too (delegate contravariance): the inferring overloads land here.
    public Factory(Func<FactoryContext<T>, Task<Either<Err, T>>> withContext) => (_factory, _shape) = (withContext, Shape.WithContext);

    public Factory(Func<FactoryContext, Task<T>> valueWithContext) => (_factory, _shape) = (valueWithContext, Shape.ValueWithContext);

    /// <summary>Whether the factory returns the value itself (<see cref="InvokeValue"/>) rather than an <c>Either</c> (<see cref="Invoke"/>).</summary>
    public bool ReturnsValue => _shape == Shape.ValueWithContext;

    /// <summary>Calls an <c>Either</c> factory; <paramref name="fallback"/> becomes the context's stale value when it is a <typeparamref name="T"/>.</summary>
    public Task<Either<Err, T>> Invoke(string key, FSharpValueOption<Entry> fallback, CancellationToken token, out FactoryContext<T>? context)
    {
        if (_shape == Shape.Plain)
        {
            context = null;
            return Unsafe.As<Func<Task<Either<Err, T>>>>(_factory)();
        }
        context = Context(key, fallback, token);
        return Unsafe.As<Func<FactoryContext<T>, Task<Either<Err, T>>>>(_factory)(context);
    }

    /// <summary>Calls a value factory.</summary>
    public Task<T> InvokeValue(string key, FSharpValueOption<Entry> fallback, CancellationToken token, out FactoryContext<T>? context)
    {
        context = Context(key, fallback, token);
        return Unsafe.As<Func<FactoryContext, Task<T>>>(_factory)(context);
    }

    private static FactoryContext<T> Context(string key, FSharpValueOption<Entry> fallback, CancellationToken token)
    {
        var stale = fallback.IsSome && Cast.Try<T>(fallback.Value.Value, out var v) ? Option<T>.Some(v) : Option<T>.None;
        return new FactoryContext<T>(key, stale, stale.IsSome ? fallback.Value.Validator : ValidatorModule.none, token);
    }

    /// <summary>The options the produced entry is written with: the caller's, with what the factory set on its context
    /// laid over them (adaptive caching).</summary>
    public static EntryOptions Produced(EntryOptions callers, FactoryContext<T>? context) =>
        context?.EntryOptions is { } adapted ? adapted.Resolve(callers) : callers;
}
