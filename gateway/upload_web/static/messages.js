// What the upload page says, in Simplified Chinese and English. Township clinic staff read
// Chinese: a browser that prefers Chinese gets it, `?lang=en` or `?lang=zh-CN` chooses.
// Uppy's own buttons and messages come from @uppy/locales (zh_CN) to match.
// The gateway writes its own messages in English: the Chinese page says its sign-in refusals in
// Chinese and shows the size limit's English detail in brackets.

export const LANGUAGES = ['zh-CN', 'en']

const count = (n, one, many) => `${n} ${n === 1 ? one : many}`

export const MESSAGES = {
  en: {
    title: 'RadBridge – send studies',
    heading: 'Send studies to the reading centre',
    otherLanguage: '中文',
    signInIntro: 'Sign in with your clinic account.',
    username: 'Username',
    password: 'Password',
    signIn: 'Sign in',
    signedInAs: 'Signed in as',
    signOut: 'Sign out',
    dropHelp: 'Drop DICOM files, a whole study folder or a zip below (“browse folders” picks a folder). ' +
      'An interrupted upload continues where it stopped: press Retry, or add the same files again.',
    declaredLegend: 'Tell the reading centre',
    urgency: 'Urgency',
    patientType: 'Patient type',
    notDeclared: 'Not declared: the DICOM decides',
    stat: 'STAT',
    urgent: 'Urgent',
    routine: 'Routine',
    outpatient: 'Outpatient',
    emergency: 'Emergency',
    inpatient: 'Inpatient',
    health_check: 'Health check',
    declaredNote: 'Applies to every file of the next upload; a retry keeps what its files were sent with.',
    unreachable: 'The gateway cannot be reached; check the connection and try again.',
    signInFailed: (status) => `Sign-in failed (HTTP ${status}).`,
    leftOut: (path) => `Left out (not DICOM or a zip): ${path}`,
    progress: (done, total, percent) => `${done} of ${total} files sent (${percent}%)`,
    declared: (urgency, type) => [
      urgency ? `urgency ${urgency === 'stat' ? 'STAT' : urgency}` : '',
      type ? `patient type ${type.replace('_', ' ')}` : '',
    ].filter(Boolean).join(', ') || 'urgency and patient type from the DICOM',
    complete: (files, studies, declared, batch) =>
      `Complete: ${count(files, 'file', 'files')}, ${count(studies, 'study', 'studies')} sent ` +
      `(${declared}; batch ${batch}); readers can see them now.`,
    batchFailed: (batch, why) => `Batch ${batch}: ${why}`,
    dropped: 'The connection dropped. Press Retry (or add the same files again) to continue from where it stopped.',
    expired: 'Your sign-in has expired or is not valid. Sign out, sign in again, then press Retry.',
    notUploader: 'This account may not send studies (403). Sign in with a clinic account.',
    tooLarge: (why) => `Too large (413): ${why || 'the file is above the upload limit.'}`,
    damaged: 'The file was damaged on the way (checksum mismatch, 460). Press Retry to send it again.',
    failed: (why, status) => `${why || 'Upload failed'} (HTTP ${status}).`,
  },
  'zh-CN': {
    title: 'RadBridge – 发送影像检查',
    heading: '向阅片中心发送检查',
    otherLanguage: 'English',
    signInIntro: '请用本卫生院的账号登录。',
    username: '用户名',
    password: '密码',
    signIn: '登录',
    signedInAs: '已登录：',
    signOut: '退出登录',
    dropHelp: '把 DICOM 文件、整个检查文件夹或 zip 压缩包拖到下面（点“浏览文件夹”可选整个文件夹）。' +
      '上传中断后会从中断处继续：点“重试”，或再次添加同样的文件。',
    declaredLegend: '告知阅片中心',
    urgency: '紧急程度',
    patientType: '患者类型',
    notDeclared: '未指定：以 DICOM 为准',
    stat: '特急',
    urgent: '加急',
    routine: '常规',
    outpatient: '门诊',
    emergency: '急诊',
    inpatient: '住院',
    health_check: '体检',
    declaredNote: '对下一次上传的所有文件有效；重试时沿用这些文件当初的设置。',
    unreachable: '无法连接网关；请检查网络后再试。',
    // The gateway explains refusals in English; these say the same for its two sign-in refusals.
    signInRefused: {
      401: '用户名或密码错误，或账号已停用。',
      403: '此账号不能发送检查；请用卫生院工作人员或卫生院医生的账号登录。',
    },
    signInFailed: (status) => `登录失败（HTTP ${status}）。`,
    leftOut: (path) => `已略过（不是 DICOM 或 zip）：${path}`,
    progress: (done, total, percent) => `已发送 ${done} / ${total} 个文件（${percent}%）`,
    declared: (urgency, type) => {
      const words = { stat: '特急', urgent: '加急', routine: '常规', outpatient: '门诊', emergency: '急诊', inpatient: '住院', health_check: '体检' }
      return [
        urgency ? `紧急程度：${words[urgency] || urgency}` : '',
        type ? `患者类型：${words[type] || type}` : '',
      ].filter(Boolean).join('，') || '紧急程度和患者类型以 DICOM 为准'
    },
    complete: (files, studies, declared, batch) =>
      `完成：已发送 ${files} 个文件、${studies} 个检查（${declared}；批次 ${batch}），阅片医生现在可以看到。`,
    batchFailed: (batch, why) => `批次 ${batch}：${why}`,
    dropped: '连接中断。点“重试”（或再次添加同样的文件）即可从中断处继续。',
    expired: '登录已过期或无效。请退出登录、重新登录，再点“重试”。',
    notUploader: '此账号不能发送检查（403）。请用卫生院的账号登录。',
    tooLarge: (why) => `文件过大（413），超过了网关的上传上限${why ? `（${why}）` : ''}。请分成几次发送。`,
    damaged: '文件在传输中损坏（校验不一致，460）。点“重试”重新发送。',
    failed: (why, status) => `${why || '上传失败'}（HTTP ${status}）。`,
  },
}

// `?lang=` first, then the browser's own order of preference; Chinese of any region reads zh-CN.
export function pickLanguage(search, preferred) {
  const asked = new URLSearchParams(search).get('lang')
  if (LANGUAGES.includes(asked)) return asked
  for (const language of preferred) {
    if (language.toLowerCase().startsWith('zh')) return 'zh-CN'
    if (language.toLowerCase().startsWith('en')) return 'en'
  }
  return 'en'
}
