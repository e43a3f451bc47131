using Fusion.Core;
using LanguageExt;
using Microsoft.Extensions.Logging;

namespace Fusion.Runtime;

/// <summary>
/// The effect interpreter of one flight: asks the core for a plan, runs the factory within the plan's
/// timeouts, folds the outcome through the core, applies the L1 change, and keeps a timed-out
/// factory running for a background completion when the core says so. It makes no lifecycle decision.
/// </summary>
internal sealed class FlightLeader(MemoryLevel memory, FlightTable flights, Clock clock, ILogger logger)
{
    /// <summary>Runs the flight to its reply; never throws, and always completes and unregisters the flight.</summary>
    public async Task Run<T>(
        string key, Flight flight, Func<FactoryContext<T>, Task<Either<Err, T>>> factory,
        Microsoft.FSharp.Core.FSharpValueOption<object> fallbackDefault, EntryOptions options, bool refresh)
    {
        Reply reply;
        try
        {
            var plan = Core.Flight.plan(options, clock.Now, clock.NextSequence(), refresh, memory.Get(key), fallbackDefault);
            reply = plan switch
            {
                FlightPlan.Answer answer => answer.Reply,
                FlightPlan.RunFactory run => await RunFactory(key, flight, factory, options, run.Run).ConfigureAwait(false),
                _ => throw new System.Diagnostics.UnreachableException(),
            };
        }
        catch (Exception ex)
        {
            // Only a bug of ours lands here; the waiters still get an answer and the key is not stuck.
            logger.LogError(ex, "Fusion: the flight for key {Key} failed unexpectedly", key);
            reply = Reply.NewError(Err.Of(ex));
        }
        flights.Leave(key, flight);
        flight.Complete(reply);
    }

    private async Task<Reply> RunFactory<T>(
        string key, Flight flight, Func<FactoryContext<T>, Task<Either<Err, T>>> factory, EntryOptions options, FactoryRun run)
    {
        var stale = run.Fallback.IsSome && run.Fallback.Value.Value is T v ? Option<T>.Some(v) : Option<T>.None;
        var observed = FactoryRunner.Observe(factory, new FactoryContext<T>(key, stale, flight.FactoryToken));
        var outcome = await FactoryRunner.Within(observed, run, clock.Time).ConfigureAwait(false);
        var settlement = Core.Flight.settle(options, clock.Now, clock.Jitter(options), run, outcome);
        memory.Apply(key, settlement.Change);
        if (outcome.IsSoftTimedOut || outcome.IsHardTimedOut)
        {
            if (settlement.KeepFactoryRunning) _ = CompleteInBackground(key, observed, options, run);
            else flight.CancelFactory();
        }
        return settlement.Reply;
    }

    /// <summary>A timed-out factory finished: its success lands only if nothing newer was written meanwhile.</summary>
    private async Task CompleteInBackground(string key, Task<Outcome> observed, EntryOptions options, FactoryRun run)
    {
        var outcome = await observed.ConfigureAwait(false); // Observe never throws
        if (outcome is Outcome.Succeeded success)
        {
            var entry = Core.Flight.completedInBackground(options, clock.Now, clock.Jitter(options), run, success.Value);
            if (!memory.PutIfSupersedes(key, entry))
                logger.LogDebug("Fusion: a background completion for key {Key} was older than the cached value and was dropped", key);
        }
        else if (outcome is Outcome.Failed failed)
        {
            logger.LogWarning("Fusion: the timed-out factory for key {Key} failed in the background: {Error}", key, failed.Error.Message);
        }
    }
}
