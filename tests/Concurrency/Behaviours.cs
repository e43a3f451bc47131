using LanguageExt;

namespace Fusion.Tests.Concurrency;

/// <summary>What a factory does when the cache runs it.</summary>
internal enum Behaviour
{
    SyncRight,
    AsyncRight,
    Left,
    ThrowSync,
    Faulted,
    /// <summary>Slower than the timeouts (a few hundred ms), ignoring its token.</summary>
    Slow,
    /// <summary>Waits on its token: ends with OperationCanceledException when it is cancelled.</summary>
    TokenAware,
    /// <summary>Seconds: a caller that ignores its own hard timeout is caught waiting for it.</summary>
    Hangs,
}

/// <summary>The exception the workload's factories throw (recognisable among unobserved task exceptions).</summary>
internal sealed class WorkloadException(string message) : Exception(message);

/// <summary>A factory of one behaviour, chosen by the worker (so the choice is seeded), that records its run.</summary>
/// <remarks>While <paramref name="sourceDown"/> holds (an outage of the key's source), a run that would succeed
/// returns <c>Left</c> instead, after the same delay: the key's last value grows old as a fail-safe fallback.</remarks>
internal sealed class RecordingFactory(Recorder recorder, Behaviour behaviour, int delayMs, Func<bool> sourceDown)
{
    public override string ToString() => delayMs > 0 ? $"{behaviour}({delayMs}ms)" : behaviour.ToString();

    public Task<Either<Err, Val>> Invoke(FactoryContext<Val> context)
    {
        var down = sourceDown();
        var run = recorder.BeginFactory(context.Key, down ? $"{this} while down" : ToString(), context.CancellationToken);
        switch (down && behaviour == Behaviour.SyncRight ? Behaviour.Left : behaviour)
        {
            case Behaviour.SyncRight:
                run.Ended(produced: true);
                return Task.FromResult(Either<Err, Val>.Right(run.Value));
            case Behaviour.Left:
                run.Ended(produced: false);
                return Task.FromResult(Either<Err, Val>.Left(Err.Of("source down")));
            case Behaviour.ThrowSync:
                run.Ended(produced: false);
                throw new WorkloadException($"factory {run.Start} threw");
            case Behaviour.Faulted:
                run.Ended(produced: false);
                return Task.FromException<Either<Err, Val>>(new WorkloadException($"factory {run.Start} faulted"));
            default:
                return Delayed(run, behaviour == Behaviour.TokenAware ? context.CancellationToken : CancellationToken.None, down);
        }
    }

    private async Task<Either<Err, Val>> Delayed(Recorder.LiveFactory run, CancellationToken token, bool down)
    {
        var produced = false;
        try
        {
            await Task.Delay(delayMs, token).ConfigureAwait(false);
            if (down) return Either<Err, Val>.Left(Err.Of("source down"));
            produced = true;
            return Either<Err, Val>.Right(run.Value);
        }
        finally
        {
            run.Ended(produced);
        }
    }
}
