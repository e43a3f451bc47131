using System.Collections.Concurrent;
using System.Diagnostics;

namespace Fusion.Tests.Redis.Support;

/// <summary>
/// The redis-server processes this test run started, so that none outlives it. Each lives in its own directory
/// under <see cref="Root"/>, named after the test process, with the server's pid in it. Live servers are killed
/// when the test process exits normally; servers orphaned by a test process that was killed outright are swept,
/// by pid, the first time a later run starts a server.
/// </summary>
internal static class ServerProcesses
{
    /// <summary>Parent of every server's directory.</summary>
    public static readonly string Root = Path.Combine(Path.GetTempPath(), "fusion-redis-tests");

    private const string PidFile = "redis.pid";
    private static readonly ConcurrentDictionary<int, Process> Live = new();
    private static readonly Lazy<bool> Swept = new(SweepOrphans);

    static ServerProcesses() => AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();

    /// <summary>A fresh, empty directory for one server, owned by this test process.</summary>
    public static string NewDirectory()
    {
        _ = Swept.Value;
        var directory = Path.Combine(Root, $"{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        return directory;
    }

    /// <summary>Records a started server: killed at exit, and findable by a later run if this one dies.</summary>
    public static void Track(Process server, string directory)
    {
        Live[server.Id] = server;
        File.WriteAllText(Path.Combine(directory, PidFile), server.Id.ToString());
    }

    /// <summary>Kills <paramref name="server"/> (SIGKILL: no shutdown work, like a crash) and forgets it.</summary>
    public static void Kill(Process server)
    {
        try
        {
            if (!server.HasExited) server.Kill();
            server.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        Live.TryRemove(new KeyValuePair<int, Process>(server.Id, server));
    }

    /// <summary>Deletes a server's directory; best effort, the temp folder is not worth failing a test over.</summary>
    public static void Delete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private static void KillAll()
    {
        foreach (var server in Live.Values) Kill(server);
    }

    /// <summary>
    /// Kills servers left by test processes that no longer exist, and deletes their directories. A pid is killed
    /// only if that process's working directory is still the server's directory (redis-server chdirs to --dir), so
    /// a recycled pid is never touched.
    /// </summary>
    private static bool SweepOrphans()
    {
        if (!Directory.Exists(Root) || !Directory.Exists("/proc")) return true;
        foreach (var directory in Directory.GetDirectories(Root))
        {
            var owner = Path.GetFileName(directory).Split('-')[0];
            if (!int.TryParse(owner, out var ownerPid) || Directory.Exists($"/proc/{ownerPid}")) continue;
            try
            {
                var pidFile = Path.Combine(directory, PidFile);
                if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile), out var pid)
                    && new DirectoryInfo($"/proc/{pid}/cwd").LinkTarget == directory)
                {
                    using var orphan = Process.GetProcessById(pid);
                    orphan.Kill();
                    orphan.WaitForExit(5000);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
            {
                // Exited meanwhile, or not ours to inspect: leave it.
            }
            Delete(directory);
        }
        return true;
    }
}
