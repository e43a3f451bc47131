using Fusion.Core;
using LanguageExt;
using Microsoft.FSharp.Core;

namespace Fusion.Runtime;

/// <summary>Runs a user factory and turns everything it can do into a core <see cref="Outcome"/>.</summary>
internal static class FactoryRunner
{
    /// <summary>Invokes the factory; never throws (a throw, a null task, a faulted task or a Bottom Either are failures).</summary>
    public static async ValueTask<Outcome> Observe<T>(Factory<T> factory, string key, FSharpValueOption<Entry> fallback, CancellationToken token)
    {
        try
        {
            var task = factory.Invoke(key, fallback, token);
            if (task is null) return Outcome.NewFailed(Err.Of("the factory returned a null Task"));
            var result = await task.ConfigureAwait(false);
            if (result.IsBottom) return Outcome.NewFailed(Err.Of("the factory returned an uninitialised Either (Bottom)"));
            return result.Match(Right: static v => Outcome.NewSucceeded(v!), Left: static e => Outcome.NewFailed(e));
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            return Outcome.Cancelled;
        }
        catch (Exception ex)
        {
            return Outcome.NewFailed(Err.Of(ex));
        }
    }

    /// <summary>
    /// Waits for the outcome within the run's timeouts: the soft one when the core made it apply and it
    /// comes first, else the hard one. A timeout leaves <paramref name="outcome"/> running.
    /// </summary>
    public static async Task<Outcome> Within(Task<Outcome> outcome, FactoryRun run, TimeProvider time)
    {
        var (limit, soft) = Ticks.firstTimeout(run.SoftTimeout, run.HardTimeout);
        if (limit == Timeout.InfiniteTimeSpan) return await outcome.ConfigureAwait(false);
        try
        {
            return await outcome.WaitAsync(limit, time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return soft ? Outcome.SoftTimedOut : Outcome.HardTimedOut;
        }
    }
}
