using Fusion.Core;
using LanguageExt;
using Microsoft.FSharp.Core;

namespace Fusion.Runtime;

/// <summary>Runs a user factory and turns everything it can do into a core <see cref="Outcome"/>.</summary>
internal static class FactoryRunner
{
    /// <summary>Invokes the factory; never throws (a throw, a null task, a faulted task or a Bottom Either are
    /// failures). Completed synchronously, without a state machine, when the factory's task already is.</summary>
    public static ValueTask<Outcome> Observe<T>(Factory<T> factory, string key, FSharpValueOption<Entry> fallback, CancellationToken token, out FactoryContext<T>? context)
    {
        if (factory.ReturnsValue) return ObserveValue(factory, key, fallback, token, out context);
        Task<Either<Err, T>> task;
        context = null;
        try
        {
            task = factory.Invoke(key, fallback, token, out context);
        }
        catch (Exception ex)
        {
            return new(Thrown(ex, token));
        }
        if (task is null) return new(NullTask);
        return task.IsCompletedSuccessfully ? new(Of(task.Result, context)) : Await(task, context, token);
    }

    private static async ValueTask<Outcome> Await<T>(Task<Either<Err, T>> task, FactoryContext<T>? context, CancellationToken token)
    {
        try
        {
            return Of(await task.ConfigureAwait(false), context);
        }
        catch (Exception ex)
        {
            return Thrown(ex, token);
        }
    }

    /// <summary>A factory that returns the value itself: its exceptions are its failures, and a null value is one too.</summary>
    private static ValueTask<Outcome> ObserveValue<T>(Factory<T> factory, string key, FSharpValueOption<Entry> fallback, CancellationToken token, out FactoryContext<T>? context)
    {
        Task<T> task;
        context = null;
        try
        {
            task = factory.InvokeValue(key, fallback, token, out context);
        }
        catch (Exception ex)
        {
            return new(Thrown(ex, token));
        }
        if (task is null) return new(NullTask);
        return task.IsCompletedSuccessfully ? new(OfValue(task.Result, context)) : AwaitValue(task, context, token);
    }

    private static async ValueTask<Outcome> AwaitValue<T>(Task<T> task, FactoryContext<T>? context, CancellationToken token)
    {
        try
        {
            return OfValue(await task.ConfigureAwait(false), context);
        }
        catch (Exception ex)
        {
            return Thrown(ex, token);
        }
    }

    private static Outcome OfValue<T>(T value, FactoryContext<T>? context) =>
        value is null ? Outcome.NewFailed(Err.Of("the factory returned null (cache an Option to cache absence)"))
        : Outcome.NewSucceeded(value, context is null ? ValidatorModule.none : context.Validator);

    private static readonly Outcome NullTask = Outcome.NewFailed(Err.Of("the factory returned a null Task"));

    // A Right after ctx.NotModified() is the stale value handed back: the core re-stores the entry it came from.
    private static Outcome Of<T>(Either<Err, T> result, FactoryContext<T>? context) =>
        result.IsBottom ? Outcome.NewFailed(Err.Of("the factory returned an uninitialised Either (Bottom)"))
        : result.IsLeft ? Outcome.NewFailed((Err)result)
        : context is null ? Outcome.NewSucceeded((T)result!, ValidatorModule.none)
        : context.IsNotModified ? Outcome.NewNotModified(context.Validator)
        : Outcome.NewSucceeded((T)result!, context.Validator);

    private static Outcome Thrown(Exception ex, CancellationToken token) =>
        ex is OperationCanceledException && token.IsCancellationRequested ? Outcome.Cancelled : Outcome.NewFailed(Err.Of(ex));

    /// <summary>
    /// Waits for the outcome until <paramref name="deadline"/> (<c>Timeout.InfiniteTimeSpan</c>: as long as it
    /// takes); past it, <c>Outcome.TimedOut</c>, leaving <paramref name="outcome"/> running.
    /// </summary>
    public static async Task<Outcome> Within(Task<Outcome> outcome, TimeSpan deadline, TimeProvider time)
    {
        if (deadline == Timeout.InfiniteTimeSpan) return await outcome.ConfigureAwait(false);
        try
        {
            return await outcome.WaitAsync(deadline, time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return Outcome.TimedOut;
        }
    }
}
