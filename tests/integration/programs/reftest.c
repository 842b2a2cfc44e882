/* Native half of RefLeak.java. Every JNI call sits in a loop (never a tail call), so the
 * frame above libjvm's in a stack walk is always the Java_RefLeak_* function making it.
 * Built with -fno-omit-frame-pointer by the test. */
#include <jni.h>
#include <stdlib.h>

static jobject kept[1024];
static int kept_count;

JNIEXPORT void JNICALL Java_RefLeak_leakGlobals(JNIEnv *env, jclass cls, jobject target,
                                                 jint created, jint deleted)
{
    jobject made[1024];
    for (int i = 0; i < created && i < 1024; i++)
        made[i] = (*env)->NewGlobalRef(env, target);
    for (int i = 0; i < created && i < 1024; i++) {
        if (i < deleted)
            (*env)->DeleteGlobalRef(env, made[i]);
        else if (kept_count < 1024)
            kept[kept_count++] = made[i];  /* never deleted: the leak */
    }
}

JNIEXPORT void JNICALL Java_RefLeak_balancedGlobals(JNIEnv *env, jclass cls, jobject target,
                                                     jint count)
{
    for (int i = 0; i < count; i++) {
        jobject ref = (*env)->NewGlobalRef(env, target);
        (*env)->DeleteGlobalRef(env, ref);
    }
}

JNIEXPORT void JNICALL Java_RefLeak_weakGlobals(JNIEnv *env, jclass cls, jobject target,
                                                 jint created, jint deleted)
{
    jweak made[1024];
    for (int i = 0; i < created && i < 1024; i++)
        made[i] = (*env)->NewWeakGlobalRef(env, target);
    for (int i = 0; i < deleted && i < created; i++)
        (*env)->DeleteWeakGlobalRef(env, made[i]);
}

JNIEXPORT jlong JNICALL Java_RefLeak_copyBytes(JNIEnv *env, jclass cls, jbyteArray array,
                                               jint calls, jint length)
{
    jbyte buffer[4096];
    jlong total = 0;
    for (int i = 0; i < calls; i++) {
        (*env)->GetByteArrayRegion(env, array, i % 8, length, buffer);
        total += length;
    }
    return total;
}

JNIEXPORT jlong JNICALL Java_RefLeak_setInts(JNIEnv *env, jclass cls, jintArray array,
                                             jint calls, jint length)
{
    jint buffer[1024] = {0};
    jlong total = 0;
    for (int i = 0; i < calls; i++) {
        (*env)->SetIntArrayRegion(env, array, 0, length, buffer);
        total += (jlong)length * sizeof(jint);
    }
    return total;
}

/* Get/ReleaseLongArrayElements: `commits` releases copy back (mode 0), `aborts` do not. */
JNIEXPORT jlong JNICALL Java_RefLeak_longElements(JNIEnv *env, jclass cls, jlongArray array,
                                                  jint commits, jint aborts)
{
    jlong length = (*env)->GetArrayLength(env, array);
    jlong total = 0;
    for (int i = 0; i < commits + aborts; i++) {
        jlong *elements = (*env)->GetLongArrayElements(env, array, NULL);
        elements[0] = i;
        (*env)->ReleaseLongArrayElements(env, array, elements, i < commits ? 0 : JNI_ABORT);
        total += length * (jlong)sizeof(jlong) * (i < commits ? 2 : 1);
    }
    return total;
}

JNIEXPORT jlong JNICALL Java_RefLeak_stringRegions(JNIEnv *env, jclass cls, jstring text,
                                                   jint calls, jint length, jint utf_calls)
{
    jchar chars[256];
    char utf[256];
    jlong total = 0;
    for (int i = 0; i < calls; i++) {
        (*env)->GetStringRegion(env, text, 0, length, chars);
        total += (jlong)length * sizeof(jchar);
    }
    for (int i = 0; i < utf_calls; i++) {
        (*env)->GetStringUTFRegion(env, text, 0, length, utf);
        total += length;  /* ASCII: one byte a char */
    }
    return total;
}

/* Local references left to the VM: `count` NewIntArray results never deleted. Called before
 * newStrings on the same thread, so that call reuses these handle slots. */
JNIEXPORT void JNICALL Java_RefLeak_newArrays(JNIEnv *env, jclass cls, jint count)
{
    for (int i = 0; i < count; i++)
        (*env)->NewIntArray(env, 4);
}

/* `count` NewStringUTF results, the first `deleted` of them deleted with DeleteLocalRef, then
 * the `target` argument deleted too (a handle no JNI function created). */
JNIEXPORT void JNICALL Java_RefLeak_newStrings(JNIEnv *env, jclass cls, jobject target,
                                               jint count, jint deleted)
{
    for (int i = 0; i < count; i++) {
        jstring text = (*env)->NewStringUTF(env, "sparkprof");
        if (i < deleted)
            (*env)->DeleteLocalRef(env, text);
    }
    (*env)->DeleteLocalRef(env, target);
}
