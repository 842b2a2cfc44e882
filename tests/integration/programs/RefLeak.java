/** JNI interface truth for sparkprof: global and local references created and deleted, and
 * bytes copied, in known numbers (see reftest.c and tests/integration/test_jni_refs.py).
 * Usage: java RefLeak LIBPATH WAIT_MS LINGER_MS
 *        java RefLeak bench LIBPATH WAIT_MS CALLS (benchmarks/bench_jni_iface.py) */
public class RefLeak {
    static native void leakGlobals(Object target, int created, int deleted);
    static native void balancedGlobals(Object target, int count);
    static native void weakGlobals(Object target, int created, int deleted);
    static native long copyBytes(byte[] array, int calls, int length);
    static native long setInts(int[] array, int calls, int length);
    static native long longElements(long[] array, int commits, int aborts);
    static native long stringRegions(String text, int calls, int length, int utfCalls);
    static native void newArrays(int count);
    static native void newStrings(Object target, int count, int deleted);

    public static void main(String[] args) throws Exception {
        if (args[0].equals("bench")) {
            bench(args[1], Long.parseLong(args[2]), Integer.parseInt(args[3]));
            return;
        }
        System.load(args[0]);
        Thread.sleep(Long.parseLong(args[1]));  // the profiler's next scan attaches libjvm
        long[] copied = new long[1];
        // A thread of its own: the JVM's own JNI calls (class loading, I/O) stay on others.
        Thread work = new Thread(() -> copied[0] = work(), "reftest-work");
        work.start();
        work.join();
        System.out.println(copied[0]);
        Thread.sleep(Long.parseLong(args[2]));  // the profiler names the stacks while we live
    }

    /** ns per JNI call (or pair) of each native loop, the best of 5 rounds. */
    static void bench(String library, long waitMs, int calls) throws Exception {
        System.load(library);
        Thread.sleep(waitMs);
        String[] names = {"GetByteArrayRegion(100 B)", "Get+ReleaseLongArrayElements(512 B)",
                          "NewGlobalRef+DeleteGlobalRef", "GetStringRegion(10 chars)",
                          "NewStringUTF+DeleteLocalRef", "NewIntArray(4), left to the VM"};
        double[] best = new double[names.length];
        java.util.Arrays.fill(best, Double.MAX_VALUE);
        Object target = new Object();
        byte[] bytes = new byte[4096];
        long[] longs = new long[64];
        for (int round = 0; round < 5; round++) {
            long[] t = new long[names.length + 1];
            t[0] = System.nanoTime();
            copyBytes(bytes, calls, 100);
            t[1] = System.nanoTime();
            longElements(longs, calls, 0);
            t[2] = System.nanoTime();
            balancedGlobals(target, calls);
            t[3] = System.nanoTime();
            stringRegions("abcdefghijklmnop", calls, 10, 0);
            t[4] = System.nanoTime();
            newStrings(new Object(), calls, calls);
            t[5] = System.nanoTime();
            newArrays(calls);
            t[6] = System.nanoTime();
            for (int i = 0; i < names.length; i++) {
                best[i] = Math.min(best[i], (t[i + 1] - t[i]) / (double) calls);
            }
        }
        for (int i = 0; i < names.length; i++) {
            System.out.printf("%s\t%.0f%n", names[i], best[i]);
        }
    }

    static long work() {
        Object target = new Object();
        leakGlobals(target, 300, 120);
        balancedGlobals(target, 50);
        weakGlobals(target, 40, 15);
        newArrays(120);
        newStrings(target, 400, 150);
        long copied = copyBytes(new byte[4096], 1000, 100);
        copied += setInts(new int[64], 500, 32);
        copied += longElements(new long[64], 100, 100);
        return copied + stringRegions("abcdefghijklmnop", 300, 10, 100);
    }
}
